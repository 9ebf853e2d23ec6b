/*
 * QMP, the machine protocol of QEMU, over a unix socket: JSON objects in, JSON objects out. A session is
 * the protocol state of one client, independent of sockets (it is fed bytes and writes through a callback)
 * so that tests drive it directly; the server (qmp-server.c) puts sessions on accepted connections.
 *
 * Commands: qmp_capabilities (required first), query-status, query-cpus-fast, query-block, query-version,
 * query-commands, query-name, stop, cont, system_reset, system_powerdown, quit. Events: SHUTDOWN, RESET, STOP, RESUME,
 * POWERDOWN, each with a timestamp.
 */
#ifndef EMBER_PC_QMP_H
#define EMBER_PC_QMP_H

#include <gio/gio.h>
#include <stdbool.h>
#include <stddef.h>

#include "system/pc/machine.h"

/* Splits a byte stream into top-level JSON texts (QMP clients need not end them with a newline). */
typedef struct QmpSplitter {
    GString *buf;
    int depth;
    bool in_string, escaped;
} QmpSplitter;

void qmp_splitter_init(QmpSplitter *sp);
void qmp_splitter_destroy(QmpSplitter *sp);
/* Feed bytes; every complete object (or other top-level value) is appended to out (char *, g_free). */
void qmp_splitter_feed(QmpSplitter *sp, const char *data, size_t len, GPtrArray *out);

typedef void (*QmpWriteFn)(void *opaque, const char *data, size_t len);
typedef struct QmpSession QmpSession;

/* A new session writes the greeting at once. Main thread; the machine's run control must exist. */
QmpSession *qmp_session_new(Machine *m, QmpWriteFn write, void *opaque);
/* Bytes from the client: each complete command runs (machine lock taken) and is answered. Main thread. */
void qmp_session_input(QmpSession *s, const char *data, size_t len);
bool qmp_session_negotiated(const QmpSession *s);
void qmp_session_free(QmpSession *s);

/* The guest's name (-name) for query-name; NULL: none. */
void qmp_set_vm_name(const char *name);

typedef struct QmpServer QmpServer;

QmpServer *qmp_server_new(Machine *m, const char *path, GError **err);
/* -qmp ...,wait=on: block until a client connects. */
bool qmp_server_wait_client(QmpServer *srv, GError **err);
void qmp_server_free(QmpServer *srv);

#endif
