/*
 * Character backends for the serial ports: the console (stdio in raw mode, multiplexed with the human
 * monitor through QEMU's Ctrl-A escapes), a file, or a unix socket server with one client at a time.
 * A backend feeds input to its frontend (a UART) on the main thread with the machine lock held, and takes
 * output through pc_chardev_write from any thread with the lock held.
 */
#ifndef EMBER_PC_CHARDEV_H
#define EMBER_PC_CHARDEV_H

#include <gio/gio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system/pc/chardev-escape.h"
#include "system/pc/machine.h"
#include "system/pc/options.h"

typedef struct PcCharFrontend {
    size_t (*can_receive)(void *opaque);
    void (*receive)(void *opaque, const uint8_t *buf, size_t len);
    void *opaque;
} PcCharFrontend;

typedef struct PcChardev PcChardev;
struct PcMonitor;

PcChardev *pc_chardev_new(Machine *m, const PcCharSpec *spec, GError **err);
void pc_chardev_set_frontend(PcChardev *c, const PcCharFrontend *fe);
/* The UART's output (a CharOut's write): any thread, machine lock held. */
void pc_chardev_write(void *opaque, const uint8_t *buf, size_t len);
/* The frontend can take input again (the UART's receiver drained): any thread, machine lock held. */
void pc_chardev_rx_ready(PcChardev *c);
/* A unix server with wait=on: block until the first client connects. */
bool pc_chardev_wait_client(PcChardev *c, GError **err);
void pc_chardev_free(PcChardev *c);

/* The console (stdio): raw mode while the machine runs, the monitor behind Ctrl-A c. */
void pc_console_set_monitor(PcChardev *stdio_dev, struct PcMonitor *mon, bool start_in_monitor);
/* Put the terminal back as it was (idempotent; also called at exit and on fatal signals). */
void pc_console_restore(void);

/* A listening unix stream socket at path (a stale socket file there is replaced). */
GSocket *pc_unix_listen(const char *path, GError **err);

#endif
