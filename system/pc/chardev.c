/*
 * Character backends (see chardev.h). The console puts the terminal in raw mode (restored at exit and on
 * fatal signals) and reads stdin on the main context; its input passes through the Ctrl-A escape state
 * machine and goes either to the serial port or to the monitor. Input the UART cannot take yet waits in a
 * buffer that a short timer retries, since the UART has no "ready" callback.
 */
#include "system/pc/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <gio/gunixsocketaddress.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "system/pc/monitor.h"
#include "system/pc/runstate.h"

struct PcChardev {
    Machine *m;
    PcCharKind kind;
    char *path;
    PcCharFrontend fe;
    int out_fd;                  /* stdio / file: where output goes; -1 none */
    GByteArray *pending;         /* input the frontend could not take yet */
    GSource *retry;              /* timer retrying pending input */
    GSource *in_source;          /* stdin watch */
    /* console */
    PcEscape esc;
    PcMonitor *monitor;
    bool in_monitor;
    /* unix server */
    GSocket *listener, *client;  /* client: under the machine lock (the UART writes from vCPU threads) */
    GSource *accept_source, *client_source;
};

/* ---- the terminal ---- */

static struct termios pc_console_saved;
static bool pc_console_raw;

void pc_console_restore(void)
{
    if (pc_console_raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &pc_console_saved);
        pc_console_raw = false;
    }
}

static void pc_console_fatal_signal(int sig)
{
    pc_console_restore();   /* tcsetattr is async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void pc_console_make_raw(void)
{
    if (pc_console_raw || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &pc_console_saved) < 0) {
        return;
    }
    struct termios t = pc_console_saved;
    pc_termios_make_raw(&t);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0) {
        return;
    }
    pc_console_raw = true;
    atexit(pc_console_restore);
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGQUIT };
    for (size_t i = 0; i < G_N_ELEMENTS(fatal); i++) {
        signal(fatal[i], pc_console_fatal_signal);
    }
}

static void pc_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            g_usleep(1000);
            continue;
        }
        if (n <= 0) {
            return;   /* the reader went away: the guest's output is dropped, as on a disconnected line */
        }
        p += n;
        len -= (size_t)n;
    }
}

/* ---- input towards the frontend ---- */

/*
 * Input waits in c->pending (under the machine lock) until the frontend takes it: at once when it can,
 * else when the UART reports room again (pc_chardev_rx_ready, from whichever thread the guest read on),
 * with a slow timer as a safety net.
 */
static void pc_chardev_transfer(PcChardev *c)
{
    if (!c->fe.receive) {
        g_byte_array_set_size(c->pending, 0);   /* nobody listens on this port */
        return;
    }
    while (c->pending->len > 0) {
        size_t n = c->fe.can_receive(c->fe.opaque);
        if (n == 0) {
            break;
        }
        n = MIN(n, c->pending->len);
        c->fe.receive(c->fe.opaque, c->pending->data, n);
        g_byte_array_remove_range(c->pending, 0, (guint)n);
    }
}

void pc_chardev_rx_ready(PcChardev *c)
{
    if (c) {
        pc_chardev_transfer(c);
    }
}

static void pc_chardev_push_pending(PcChardev *c);

static gboolean pc_chardev_retry_cb(gpointer opaque)
{
    PcChardev *c = opaque;
    g_source_unref(c->retry);
    c->retry = NULL;
    pc_chardev_push_pending(c);
    return G_SOURCE_REMOVE;
}

/* Main thread, no lock. */
static void pc_chardev_push_pending(PcChardev *c)
{
    machine_lock(c->m);
    pc_chardev_transfer(c);
    bool left = c->pending->len > 0;
    machine_unlock(c->m);
    if (left && !c->retry) {
        c->retry = g_timeout_source_new(20);
        g_source_set_callback(c->retry, pc_chardev_retry_cb, c, NULL);
        g_source_attach(c->retry, c->m->main_context);
    }
}

static void pc_chardev_input(PcChardev *c, const uint8_t *buf, size_t len)
{
    machine_lock(c->m);
    g_byte_array_append(c->pending, buf, (guint)len);
    machine_unlock(c->m);
    pc_chardev_push_pending(c);
}

/* ---- the console (stdio) ---- */

static void pc_console_write_text(void *opaque, const char *text)
{
    (void)opaque;
    pc_write_all(STDOUT_FILENO, text, strlen(text));
}

static void pc_console_toggle_monitor(PcChardev *c)
{
    if (!c->monitor) {
        return;
    }
    c->in_monitor = !c->in_monitor;
    if (c->in_monitor) {
        pc_monitor_enter(c->monitor);
    } else {
        pc_console_write_text(NULL, "\r\n");
    }
}

static void pc_console_bytes(PcChardev *c, const uint8_t *buf, size_t len)
{
    GByteArray *to_guest = g_byte_array_new();
    for (size_t i = 0; i < len; i++) {
        uint8_t out;
        switch (pc_escape_feed(&c->esc, buf[i], &out)) {
        case PC_ESC_NONE:
            break;
        case PC_ESC_BYTE:
            if (c->in_monitor) {
                pc_monitor_input(c->monitor, out);
            } else {
                g_byte_array_append(to_guest, &out, 1);
            }
            break;
        case PC_ESC_QUIT:
            pc_console_write_text(NULL, "\r\n" PC_PROGRAM_NAME ": terminating on C-a x\r\n");
            machine_lock(c->m);
            machine_request_shutdown(c->m, SHUTDOWN_CAUSE_HOST_UI);
            machine_unlock(c->m);
            break;
        case PC_ESC_MONITOR:
            pc_chardev_input(c, to_guest->data, to_guest->len);
            g_byte_array_set_size(to_guest, 0);
            pc_console_toggle_monitor(c);
            break;
        case PC_ESC_HELP:
            pc_console_write_text(NULL, pc_escape_help());
            break;
        }
    }
    if (to_guest->len) {
        pc_chardev_input(c, to_guest->data, to_guest->len);
    }
    g_byte_array_free(to_guest, TRUE);
}

static gboolean pc_console_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    PcChardev *c = opaque;
    uint8_t buf[512];
    (void)cond;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return G_SOURCE_CONTINUE;
    }
    if (n <= 0) {
        /* End of input (stdin from /dev/null or a closed pipe): the guest keeps running without it. */
        g_source_unref(c->in_source);
        c->in_source = NULL;
        return G_SOURCE_REMOVE;
    }
    pc_console_bytes(c, buf, (size_t)n);
    return G_SOURCE_CONTINUE;
}

void pc_console_set_monitor(PcChardev *c, PcMonitor *mon, bool start_in_monitor)
{
    c->monitor = mon;
    if (mon && start_in_monitor) {
        c->in_monitor = true;
        pc_monitor_enter(mon);
    }
}

static bool pc_console_open(PcChardev *c)
{
    c->out_fd = STDOUT_FILENO;
    pc_console_make_raw();
    c->in_source = g_unix_fd_source_new(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(c->in_source, (GSourceFunc)(void (*)(void))pc_console_readable, c, NULL);
    g_source_attach(c->in_source, c->m->main_context);
    return true;
}

/* ---- unix socket server ---- */

GSocket *pc_unix_listen(const char *path, GError **err)
{
    /* GIO would silently cut a path that does not fit sockaddr_un and listen somewhere else. */
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "unix socket path too long (%zu bytes, at most %zu): %s", strlen(path),
                    sizeof(((struct sockaddr_un *)0)->sun_path) - 1, path);
        return NULL;
    }
    GSocket *s = g_socket_new(G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, err);
    if (!s) {
        return NULL;
    }
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(path);   /* a socket left by an earlier run */
    }
    GSocketAddress *addr = g_unix_socket_address_new(path);
    bool ok = g_socket_bind(s, addr, TRUE, err) && g_socket_listen(s, err);
    g_object_unref(addr);
    if (!ok) {
        g_object_unref(s);
        return NULL;
    }
    g_socket_set_blocking(s, FALSE);
    return s;
}

static void pc_unix_drop_client(PcChardev *c)
{
    if (c->client_source) {
        g_source_destroy(c->client_source);
        g_source_unref(c->client_source);
        c->client_source = NULL;
    }
    machine_lock(c->m);
    GSocket *old = c->client;
    c->client = NULL;
    machine_unlock(c->m);
    if (old) {
        g_socket_close(old, NULL);
        g_object_unref(old);
    }
}

static gboolean pc_unix_client_cb(GSocket *s, GIOCondition cond, gpointer opaque)
{
    PcChardev *c = opaque;
    uint8_t buf[512];
    gssize n = (cond & G_IO_IN) ? g_socket_receive(s, (gchar *)buf, sizeof(buf), NULL, NULL) : 0;
    if (n <= 0) {
        if (n < 0 && (cond & G_IO_IN)) {
            return G_SOURCE_CONTINUE;   /* spurious wake-up */
        }
        pc_unix_drop_client(c);
        return G_SOURCE_REMOVE;
    }
    pc_chardev_input(c, buf, (size_t)n);
    return G_SOURCE_CONTINUE;
}

static void pc_unix_take_client(PcChardev *c, GSocket *client)
{
    g_socket_set_blocking(client, FALSE);
    c->client_source = g_socket_create_source(client, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback(c->client_source, (GSourceFunc)(void (*)(void))pc_unix_client_cb, c, NULL);
    g_source_attach(c->client_source, c->m->main_context);
    machine_lock(c->m);
    c->client = client;
    machine_unlock(c->m);
}

static gboolean pc_unix_accept_cb(GSocket *s, GIOCondition cond, gpointer opaque)
{
    PcChardev *c = opaque;
    (void)cond;
    GSocket *client = g_socket_accept(s, NULL, NULL);
    if (!client) {
        return G_SOURCE_CONTINUE;
    }
    if (c->client) {
        g_socket_close(client, NULL);   /* one client at a time */
        g_object_unref(client);
        return G_SOURCE_CONTINUE;
    }
    pc_unix_take_client(c, client);
    return G_SOURCE_CONTINUE;
}

bool pc_chardev_wait_client(PcChardev *c, GError **err)
{
    if (c->kind != PC_CHAR_UNIX_SERVER || c->client) {
        return true;
    }
    fprintf(stderr, PC_PROGRAM_NAME ": waiting for a connection on unix:%s\n", c->path);
    g_socket_set_blocking(c->listener, TRUE);
    GSocket *client = g_socket_accept(c->listener, NULL, err);
    g_socket_set_blocking(c->listener, FALSE);
    if (!client) {
        return false;
    }
    pc_unix_take_client(c, client);
    return true;
}

/* ---- common ---- */

PcChardev *pc_chardev_new(Machine *m, const PcCharSpec *spec, GError **err)
{
    PcChardev *c = g_new0(PcChardev, 1);
    c->m = m;
    c->kind = spec->kind;
    c->path = g_strdup(spec->path);
    c->out_fd = -1;
    c->pending = g_byte_array_new();
    switch (spec->kind) {
    case PC_CHAR_NONE:
        break;
    case PC_CHAR_STDIO:
        pc_console_open(c);
        break;
    case PC_CHAR_FILE:
        c->out_fd = open(spec->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (c->out_fd < 0) {
            g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno), "-serial file:%s: %s", spec->path,
                        g_strerror(errno));
            pc_chardev_free(c);
            return NULL;
        }
        break;
    case PC_CHAR_UNIX_SERVER: {
        GError *e = NULL;
        c->listener = pc_unix_listen(spec->path, &e);
        if (!c->listener) {
            g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "-serial unix:%s: %s", spec->path, e->message);
            g_error_free(e);
            pc_chardev_free(c);
            return NULL;
        }
        c->accept_source = g_socket_create_source(c->listener, G_IO_IN, NULL);
        g_source_set_callback(c->accept_source, (GSourceFunc)(void (*)(void))pc_unix_accept_cb, c, NULL);
        g_source_attach(c->accept_source, m->main_context);
        break;
    }
    }
    return c;
}

void pc_chardev_set_frontend(PcChardev *c, const PcCharFrontend *fe) { c->fe = *fe; }

void pc_chardev_write(void *opaque, const uint8_t *buf, size_t len)
{
    PcChardev *c = opaque;
    if (c->out_fd >= 0) {
        pc_write_all(c->out_fd, buf, len);
    } else if (c->client) {
        /* Non-blocking: a client that does not read loses output rather than stopping the guest. */
        g_socket_send(c->client, (const gchar *)buf, len, NULL, NULL);
    }
}

void pc_chardev_free(PcChardev *c)
{
    if (!c) {
        return;
    }
    if (c->kind == PC_CHAR_STDIO) {
        pc_console_restore();
    }
    GSource **sources[] = { &c->retry, &c->in_source, &c->accept_source };
    for (size_t i = 0; i < G_N_ELEMENTS(sources); i++) {
        if (*sources[i]) {
            g_source_destroy(*sources[i]);
            g_source_unref(*sources[i]);
            *sources[i] = NULL;
        }
    }
    if (c->kind == PC_CHAR_UNIX_SERVER) {
        pc_unix_drop_client(c);
        if (c->listener) {
            g_socket_close(c->listener, NULL);
            g_object_unref(c->listener);
            unlink(c->path);
        }
    }
    if (c->kind == PC_CHAR_FILE && c->out_fd >= 0) {
        close(c->out_fd);
    }
    g_byte_array_free(c->pending, TRUE);
    g_free(c->path);
    g_free(c);
}
