/*
 * libslirp on the machine's GLib main context. A GSource asks slirp for its descriptors before each poll
 * (slirp_pollfds_fill, which also shortens the poll timeout for TCP's timers) and hands back the results
 * after it (slirp_pollfds_poll); slirp's own timers are machine timers. Both run under the machine lock,
 * which also serializes them with frames the vCPUs transmit (slirp is not thread-safe).
 */
#include "system/pc/virtio/net-slirp.h"

#include <libslirp.h>
#include <stdlib.h>
#include <string.h>

#include "system/pc/timer.h"

#define NS_ERROR g_quark_from_static_string("ember-net-error")

typedef struct SlirpSource {
    GSource source;
    NetSlirp *ns;
} SlirpSource;

struct NetSlirp {
    Machine *machine;
    Slirp *slirp;
    SlirpSource *source;
    GArray *tags;            /* g_source_add_unix_fd tags of this poll round, by slirp's index */
    NetSlirpReceive receive;
    void *opaque;
};

typedef struct SlirpTimer {
    MachineTimer *timer;
    SlirpTimerCb cb;
    void *cb_opaque;
} SlirpTimer;

static ssize_t ns_send_packet(const void *buf, size_t len, void *opaque)
{
    NetSlirp *ns = opaque;
    ns->receive(ns->opaque, buf, len);
    return (ssize_t)len;
}

static void ns_guest_error(const char *msg, void *opaque)
{
    NetSlirp *ns = opaque;
    machine_log(ns->machine, MACHINE_LOG_GUEST_ERRORS, "slirp: %s", msg);
}

static int64_t ns_clock_get_ns(void *opaque)
{
    (void)opaque;
    return machine_clock_ns();
}

static void ns_timer_fire(void *opaque)
{
    SlirpTimer *t = opaque;
    t->cb(t->cb_opaque);   /* machine timers run with the lock held */
}

static void *ns_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    NetSlirp *ns = opaque;
    SlirpTimer *t = g_new0(SlirpTimer, 1);
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->timer = machine_timer_new(ns->machine, ns_timer_fire, t);
    return t;
}

static void ns_timer_free(void *timer, void *opaque)
{
    (void)opaque;
    SlirpTimer *t = timer;
    machine_timer_free(t->timer);
    g_free(t);
}

static void ns_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    (void)opaque;
    SlirpTimer *t = timer;
    machine_timer_mod(t->timer, expire_ms * 1000000);
}

/* Descriptors are collected afresh before every poll, so slirp's (un)registrations need no bookkeeping. */
static void ns_register_poll_fd(int fd, void *opaque) { (void)fd; (void)opaque; }
static void ns_unregister_poll_fd(int fd, void *opaque) { (void)fd; (void)opaque; }

static void ns_notify(void *opaque)
{
    NetSlirp *ns = opaque;
    g_main_context_wakeup(ns->machine->main_context);
}

static const SlirpCb ns_callbacks = {
    .send_packet = ns_send_packet,
    .guest_error = ns_guest_error,
    .clock_get_ns = ns_clock_get_ns,
    .timer_new = ns_timer_new,
    .timer_free = ns_timer_free,
    .timer_mod = ns_timer_mod,
    .register_poll_fd = ns_register_poll_fd,
    .unregister_poll_fd = ns_unregister_poll_fd,
    .notify = ns_notify,
};

static int ns_add_poll(int fd, int events, void *opaque)
{
    NetSlirp *ns = opaque;
    GIOCondition cond = G_IO_ERR | G_IO_HUP;
    if (events & SLIRP_POLL_IN) cond |= G_IO_IN;
    if (events & SLIRP_POLL_OUT) cond |= G_IO_OUT;
    if (events & SLIRP_POLL_PRI) cond |= G_IO_PRI;
    gpointer tag = g_source_add_unix_fd(&ns->source->source, fd, cond);
    g_array_append_val(ns->tags, tag);
    return (int)ns->tags->len - 1;
}

static int ns_get_revents(int idx, void *opaque)
{
    NetSlirp *ns = opaque;
    if (idx < 0 || (guint)idx >= ns->tags->len) {
        return 0;
    }
    GIOCondition cond = g_source_query_unix_fd(&ns->source->source, g_array_index(ns->tags, gpointer, idx));
    int ev = 0;
    if (cond & G_IO_IN) ev |= SLIRP_POLL_IN;
    if (cond & G_IO_OUT) ev |= SLIRP_POLL_OUT;
    if (cond & G_IO_PRI) ev |= SLIRP_POLL_PRI;
    if (cond & G_IO_ERR) ev |= SLIRP_POLL_ERR;
    if (cond & G_IO_HUP) ev |= SLIRP_POLL_HUP;
    return ev;
}

static void ns_drop_fds(NetSlirp *ns)
{
    for (guint i = 0; i < ns->tags->len; i++) {
        g_source_remove_unix_fd(&ns->source->source, g_array_index(ns->tags, gpointer, i));
    }
    g_array_set_size(ns->tags, 0);
}

static gboolean ns_prepare(GSource *source, gint *timeout)
{
    NetSlirp *ns = ((SlirpSource *)source)->ns;
    uint32_t ms = UINT32_MAX;
    machine_lock(ns->machine);
    ns_drop_fds(ns);
    slirp_pollfds_fill(ns->slirp, &ms, ns_add_poll, ns);
    machine_unlock(ns->machine);
    *timeout = ms == UINT32_MAX ? -1 : (gint)(ms > G_MAXINT ? G_MAXINT : ms);
    return FALSE;
}

/* Dispatch after every poll: slirp also runs its TCP timers from slirp_pollfds_poll. */
static gboolean ns_check(GSource *source)
{
    (void)source;
    return TRUE;
}

static gboolean ns_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    (void)cb;
    (void)data;
    NetSlirp *ns = ((SlirpSource *)source)->ns;
    machine_lock(ns->machine);
    slirp_pollfds_poll(ns->slirp, 0, ns_get_revents, ns);
    machine_unlock(ns->machine);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs ns_source_funcs = { .prepare = ns_prepare, .check = ns_check, .dispatch = ns_dispatch };

static bool ns_parse_port(const char *s, int *port)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 65535) {
        return false;
    }
    *port = (int)v;
    return true;
}

/* "ADDR:PORT" with ADDR possibly empty (then *addr is left as the default). */
static bool ns_parse_endpoint(char *s, struct in_addr *addr, int *port)
{
    char *colon = strrchr(s, ':');
    if (!colon) {
        return false;
    }
    *colon = '\0';
    if (*s && !inet_aton(s, addr)) {
        return false;
    }
    return ns_parse_port(colon + 1, port);
}

bool net_slirp_parse_hostfwd(const char *rule, bool *udp, struct in_addr *haddr, int *hport,
                             struct in_addr *gaddr, int *gport, GError **err)
{
    char *copy = g_strdup(rule);
    bool ok = false;
    char *rest = NULL;
    if (g_str_has_prefix(copy, "tcp:")) {
        *udp = false;
        rest = copy + 4;
    } else if (g_str_has_prefix(copy, "udp:")) {
        *udp = true;
        rest = copy + 4;
    }
    char *dash = rest ? strchr(rest, '-') : NULL;
    if (dash) {
        *dash = '\0';
        ok = ns_parse_endpoint(rest, haddr, hport) && ns_parse_endpoint(dash + 1, gaddr, gport);
    }
    g_free(copy);
    if (!ok) {
        g_set_error(err, NS_ERROR, 0,
                    "bad hostfwd '%s': expected tcp::HOSTPORT-:GUESTPORT (or udp:, with optional addresses)",
                    rule);
    }
    return ok;
}

NetSlirp *net_slirp_new(Machine *m, const char *const *hostfwd, NetSlirpReceive receive, void *opaque,
                        GError **err)
{
    SlirpConfig cfg = { .version = 4, .in_enabled = true };
    inet_aton("10.0.2.0", &cfg.vnetwork);
    inet_aton("255.255.255.0", &cfg.vnetmask);
    inet_aton("10.0.2.2", &cfg.vhost);
    inet_aton("10.0.2.15", &cfg.vdhcp_start);
    inet_aton("10.0.2.3", &cfg.vnameserver);

    /* Check every rule before creating anything, so a typo costs nothing. */
    for (const char *const *r = hostfwd; r && *r; r++) {
        bool udp;
        struct in_addr h = { 0 }, g = cfg.vdhcp_start;
        int hp, gp;
        if (!net_slirp_parse_hostfwd(*r, &udp, &h, &hp, &g, &gp, err)) {
            return NULL;
        }
    }

    NetSlirp *ns = g_new0(NetSlirp, 1);
    ns->machine = m;
    ns->receive = receive;
    ns->opaque = opaque;
    ns->tags = g_array_new(FALSE, FALSE, sizeof(gpointer));
    ns->slirp = slirp_new(&cfg, &ns_callbacks, ns);
    if (!ns->slirp) {
        g_set_error(err, NS_ERROR, 0, "user networking: libslirp failed to start");
        g_array_free(ns->tags, TRUE);
        g_free(ns);
        return NULL;
    }
    for (const char *const *r = hostfwd; r && *r; r++) {
        bool udp;
        struct in_addr h = { .s_addr = INADDR_ANY }, g = cfg.vdhcp_start;
        int hp, gp;
        net_slirp_parse_hostfwd(*r, &udp, &h, &hp, &g, &gp, NULL);
        if (slirp_add_hostfwd(ns->slirp, udp, h, hp, g, gp) < 0) {
            g_set_error(err, NS_ERROR, 0, "hostfwd '%s': cannot listen on host port %d", *r, hp);
            slirp_cleanup(ns->slirp);
            g_array_free(ns->tags, TRUE);
            g_free(ns);
            return NULL;
        }
    }
    ns->source = (SlirpSource *)g_source_new(&ns_source_funcs, sizeof(SlirpSource));
    ns->source->ns = ns;
    g_source_attach(&ns->source->source, m->main_context);
    return ns;
}

void net_slirp_free(NetSlirp *ns)
{
    ns_drop_fds(ns);
    g_source_destroy(&ns->source->source);
    g_source_unref(&ns->source->source);
    slirp_cleanup(ns->slirp);
    g_array_free(ns->tags, TRUE);
    g_free(ns);
}

void net_slirp_input(NetSlirp *ns, const uint8_t *frame, size_t len)
{
    slirp_input(ns->slirp, frame, (int)len);
    /* The frame may have opened sockets or armed timers the sleeping main loop does not know about yet. */
    g_main_context_wakeup(ns->machine->main_context);
}
