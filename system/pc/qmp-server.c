/*
 * The QMP socket: a unix stream socket listening on the main context; every accepted client gets its own
 * session (QEMU serves one at a time per socket; serving several costs nothing and helps scripts).
 */
#include <stdio.h>
#include <unistd.h>

#include "system/pc/chardev.h"
#include "system/pc/options.h"
#include "system/pc/qmp.h"

typedef struct QmpClient {
    struct QmpServer *srv;
    GSocket *sock;
    GSource *source;
    QmpSession *session;
    bool dead;               /* a write failed: drop the client at its next input */
} QmpClient;

struct QmpServer {
    Machine *m;
    char *path;
    GSocket *listener;
    GSource *accept_source;
    GPtrArray *clients;
};

static void qmp_client_write(void *opaque, const char *data, size_t len)
{
    QmpClient *c = opaque;
    while (len > 0 && !c->dead) {
        gssize n = g_socket_send(c->sock, data, len, NULL, NULL);
        if (n <= 0) {
            c->dead = true;
            break;
        }
        data += n;
        len -= (size_t)n;
    }
}

static void qmp_client_free(gpointer p)
{
    QmpClient *c = p;
    qmp_session_free(c->session);
    if (c->source) {
        g_source_destroy(c->source);
        g_source_unref(c->source);
    }
    g_socket_close(c->sock, NULL);
    g_object_unref(c->sock);
    g_free(c);
}

static gboolean qmp_client_cb(GSocket *sock, GIOCondition cond, gpointer opaque)
{
    QmpClient *c = opaque;
    char buf[4096];
    gssize n = (cond & G_IO_IN) ? g_socket_receive(sock, buf, sizeof(buf), NULL, NULL) : 0;
    if (n > 0) {
        qmp_session_input(c->session, buf, (size_t)n);
    }
    if (n <= 0 || c->dead) {
        g_ptr_array_remove(c->srv->clients, c);   /* frees it, and its source */
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void qmp_server_take(QmpServer *srv, GSocket *sock)
{
    QmpClient *c = g_new0(QmpClient, 1);
    c->srv = srv;
    c->sock = sock;
    g_socket_set_blocking(sock, TRUE);   /* replies are written whole; reads only follow G_IO_IN */
    c->source = g_socket_create_source(sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback(c->source, (GSourceFunc)(void (*)(void))qmp_client_cb, c, NULL);
    g_source_attach(c->source, srv->m->main_context);
    g_ptr_array_add(srv->clients, c);
    c->session = qmp_session_new(srv->m, qmp_client_write, c);
}

static gboolean qmp_accept_cb(GSocket *listener, GIOCondition cond, gpointer opaque)
{
    (void)cond;
    GSocket *sock = g_socket_accept(listener, NULL, NULL);
    if (sock) {
        qmp_server_take(opaque, sock);
    }
    return G_SOURCE_CONTINUE;
}

QmpServer *qmp_server_new(Machine *m, const char *path, GError **err)
{
    GError *e = NULL;
    GSocket *listener = pc_unix_listen(path, &e);
    if (!listener) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "-qmp unix:%s: %s", path, e->message);
        g_error_free(e);
        return NULL;
    }
    QmpServer *srv = g_new0(QmpServer, 1);
    srv->m = m;
    srv->path = g_strdup(path);
    srv->listener = listener;
    srv->clients = g_ptr_array_new_with_free_func(qmp_client_free);
    srv->accept_source = g_socket_create_source(listener, G_IO_IN, NULL);
    g_source_set_callback(srv->accept_source, (GSourceFunc)(void (*)(void))qmp_accept_cb, srv, NULL);
    g_source_attach(srv->accept_source, m->main_context);
    return srv;
}

bool qmp_server_wait_client(QmpServer *srv, GError **err)
{
    fprintf(stderr, PC_PROGRAM_NAME ": waiting for a QMP connection on unix:%s\n", srv->path);
    g_socket_set_blocking(srv->listener, TRUE);
    GSocket *sock = g_socket_accept(srv->listener, NULL, err);
    g_socket_set_blocking(srv->listener, FALSE);
    if (!sock) {
        return false;
    }
    qmp_server_take(srv, sock);
    return true;
}

void qmp_server_free(QmpServer *srv)
{
    if (!srv) {
        return;
    }
    g_ptr_array_free(srv->clients, TRUE);
    g_source_destroy(srv->accept_source);
    g_source_unref(srv->accept_source);
    g_socket_close(srv->listener, NULL);
    g_object_unref(srv->listener);
    unlink(srv->path);
    g_free(srv->path);
    g_free(srv);
}
