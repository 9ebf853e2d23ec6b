/*
 * The GDB remote serial protocol: "$data#checksum" packets acknowledged with '+' until gdb turns that off,
 * and one handler per command in a table. See rsp.h for how a front end drives it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/gdbstub/rsp.h"

#define GDB_PACKET_SIZE 0x4000
#define GDB_MAX_TIDS 256

/* Result of a command handler: keep serving, or leave gdb_rsp_serve (resume, detach, kill). */
enum { RSP_STAY = 0, RSP_RESUME = 1 };

/* ---- transport ---- */

static int rsp_getc(GdbServer *s)
{
    unsigned char c;
    for (;;) {
        ssize_t n = read(s->fd, &c, 1);
        if (n == 1) {
            return c;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return -1;
    }
}

static int rsp_write_all(GdbServer *s, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read one packet into s->in. 0, or -1 when the connection is gone. Stray characters (acks, ^C) are skipped. */
static int rsp_read_packet(GdbServer *s)
{
    for (;;) {
        int c;
        do {
            c = rsp_getc(s);
            if (c < 0) {
                return -1;
            }
        } while (c != '$');
        g_string_truncate(s->in, 0);
        unsigned sum = 0;
        while ((c = rsp_getc(s)) >= 0 && c != '#') {
            g_string_append_c(s->in, (char)c);
            sum += (unsigned)c;
        }
        int h = rsp_getc(s), l = h < 0 ? -1 : rsp_getc(s);
        if (c < 0 || l < 0) {
            return -1;
        }
        char cs[3] = {(char)h, (char)l, 0};
        bool ok = strtoul(cs, NULL, 16) == (sum & 0xff);
        if (!s->noack) {
            if (rsp_write_all(s, ok ? "+" : "-", 1) < 0) {
                return -1;
            }
        }
        if (ok || s->noack) {
            return 0;
        }
    }
}

/* Send s->out as a packet (and wait for its '+' unless acks are off). */
static int rsp_send(GdbServer *s, const char *data, size_t len)
{
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) {
        sum += (unsigned char)data[i];
    }
    GString *p = g_string_sized_new(len + 4);
    g_string_append_c(p, '$');
    g_string_append_len(p, data, (gssize)len);
    g_string_append_printf(p, "#%02x", sum & 0xff);
    int r = 0;
    for (int tries = 0; tries < 10; tries++) {
        if (rsp_write_all(s, p->str, p->len) < 0) {
            r = -1;
            break;
        }
        if (s->noack) {
            break;
        }
        int c;
        do {
            c = rsp_getc(s);
        } while (c >= 0 && c != '+' && c != '-');
        if (c != '-') {
            r = c < 0 ? -1 : 0;
            break;
        }
    }
    g_string_free(p, TRUE);
    return r;
}

/* ---- encodings ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_hex(GString *out, const uint8_t *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        g_string_append_c(out, digits[buf[i] >> 4]);
        g_string_append_c(out, digits[buf[i] & 15]);
    }
}

/* Hex text into bytes; the number of bytes, or -1 on a bad digit. */
static long get_hex(const char *p, uint8_t *buf, size_t max)
{
    size_t n = 0;
    while (p[0] && p[1] && n < max) {
        int h = hexval(p[0]), l = hexval(p[1]);
        if (h < 0 || l < 0) {
            return -1;
        }
        buf[n++] = (uint8_t)(h << 4 | l);
        p += 2;
    }
    return (long)n;
}

/* Binary data as qXfer and X use it: '#', '$', '}' and '*' are escaped as '}' followed by the byte ^ 0x20. */
static void put_binary(GString *out, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '#' || c == '$' || c == '}' || c == '*') {
            g_string_append_c(out, '}');
            c ^= 0x20;
        }
        g_string_append_c(out, c);
    }
}

static size_t get_binary(const char *p, size_t avail, uint8_t *buf, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < avail && n < max; i++) {
        uint8_t c = (uint8_t)p[i];
        if (c == '}' && i + 1 < avail) {
            c = (uint8_t)(p[++i] ^ 0x20);
        }
        buf[n++] = c;
    }
    return n;
}

/* A thread id as gdb writes it: hex, "-1" (all) or "0" (any). */
static int parse_tid(const char *p, const char **end)
{
    if (p[0] == '-' && p[1] == '1') {
        if (end) *end = p + 2;
        return -1;
    }
    char *e;
    long v = strtol(p, &e, 16);
    if (end) *end = e;
    return (int)v;
}

static void reply_error(GdbServer *s, int err) { g_string_printf(s->out, "E%02x", err & 0xff); }

/* ---- signals: GDB's numbering on the wire ---- */

/* Host (Linux x86-64) signal -> GDB signal, for 1..31. */
static const uint8_t gdb_signal_map[32] = {
    [1] = 1,   [2] = 2,   [3] = 3,   [4] = 4,   [5] = 5,   [6] = 6,   [7] = 10,  [8] = 8,
    [9] = 9,   [10] = 30, [11] = 11, [12] = 31, [13] = 13, [14] = 14, [15] = 15, [16] = 143,
    [17] = 20, [18] = 19, [19] = 17, [20] = 18, [21] = 21, [22] = 22, [23] = 16, [24] = 24,
    [25] = 25, [26] = 26, [27] = 27, [28] = 28, [29] = 23, [30] = 32, [31] = 12,
};

int gdb_signal_from_host(int sig)
{
    if (sig > 0 && sig < 32) {
        return gdb_signal_map[sig];
    }
    if (sig == 32) return 77;               /* GDB_SIGNAL_REALTIME_32 */
    if (sig >= 33 && sig <= 64) return 45 + sig - 33;   /* GDB_SIGNAL_REALTIME_33 onwards */
    return sig == 0 ? 0 : 143;              /* GDB_SIGNAL_UNKNOWN */
}

int gdb_signal_to_host(int gsig)
{
    for (int sig = 1; sig <= 64; sig++) {
        if (gdb_signal_from_host(sig) == gsig) {
            return sig;
        }
    }
    return 0;
}

/* ---- stop replies ---- */

static void stop_reply(GdbServer *s, const GdbStop *st)
{
    switch (st->kind) {
    case GDB_STOP_EXITED:
        g_string_printf(s->out, "W%02x", st->exit_code & 0xff);
        return;
    case GDB_STOP_KILLED:
        g_string_printf(s->out, "X%02x", gdb_signal_from_host(st->signal));
        return;
    case GDB_STOP_SIGNAL:
        break;
    }
    g_string_printf(s->out, "T%02xthread:%x;", gdb_signal_from_host(st->signal), st->tid);
    if (st->watch_type) {
        static const char *const names[] = {[GDB_WP_WRITE] = "watch", [GDB_WP_READ] = "rwatch",
                                            [GDB_WP_ACCESS] = "awatch"};
        g_string_append_printf(s->out, "%s:%" PRIx64 ";", names[st->watch_type], st->watch_addr);
    } else if (st->swbreak) {
        g_string_append(s->out, "swbreak:;");
    } else if (st->hwbreak) {
        g_string_append(s->out, "hwbreak:;");
    }
}

/* ---- commands ---- */

static int cur_g_tid(GdbServer *s)
{
    return s->g_tid > 0 ? s->g_tid : s->last_stop.tid;
}

static int cmd_regs_read(GdbServer *s, const char *args, GdbResume *r)
{
    (void)args;
    (void)r;
    uint8_t buf[16];
    for (int i = 0; i < s->ops->num_regs; i++) {
        int n = s->ops->read_reg(s->opaque, cur_g_tid(s), i, buf);
        if (n < 0) {
            break;
        }
        put_hex(s->out, buf, (size_t)n);
    }
    return RSP_STAY;
}

static int cmd_regs_write(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    uint8_t buf[16], cur[16];
    for (int i = 0; i < s->ops->num_regs && *args; i++) {
        int n = s->ops->read_reg(s->opaque, cur_g_tid(s), i, cur);
        if (n < 0 || strlen(args) < (size_t)n * 2 || get_hex(args, buf, (size_t)n) != n) {
            break;
        }
        s->ops->write_reg(s->opaque, cur_g_tid(s), i, buf, n);
        args += n * 2;
    }
    g_string_assign(s->out, "OK");
    return RSP_STAY;
}

static int cmd_reg_read(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    uint8_t buf[16];
    int n = s->ops->read_reg(s->opaque, cur_g_tid(s), (int)strtol(args, NULL, 16), buf);
    if (n < 0) {
        reply_error(s, EINVAL);
    } else {
        put_hex(s->out, buf, (size_t)n);
    }
    return RSP_STAY;
}

static int cmd_reg_write(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    char *eq;
    int regno = (int)strtol(args, &eq, 16);
    uint8_t buf[16];
    long n = *eq == '=' ? get_hex(eq + 1, buf, sizeof(buf)) : -1;
    if (n < 0 || s->ops->write_reg(s->opaque, cur_g_tid(s), regno, buf, (int)n) < 0) {
        reply_error(s, EINVAL);
    } else {
        g_string_assign(s->out, "OK");
    }
    return RSP_STAY;
}

static int cmd_mem_read(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    char *p;
    uint64_t addr = strtoull(args, &p, 16);
    size_t len = *p == ',' ? strtoull(p + 1, NULL, 16) : 0;
    if (len > GDB_PACKET_SIZE / 2 - 8) {
        len = GDB_PACKET_SIZE / 2 - 8;
    }
    uint8_t *buf = g_malloc(len ? len : 1);
    long n = s->ops->read_mem(s->opaque, addr, buf, len);
    if (n <= 0 && len) {
        reply_error(s, EFAULT);   /* gdb only needs to know the address is not readable */
    } else {
        put_hex(s->out, buf, (size_t)n);
    }
    g_free(buf);
    return RSP_STAY;
}

/* M addr,len:hex and X addr,len:binary */
static int mem_write(GdbServer *s, const char *args, bool binary)
{
    char *p;
    uint64_t addr = strtoull(args, &p, 16);
    size_t len = *p == ',' ? strtoull(p + 1, &p, 16) : 0;
    const char *data = strchr(args, ':');
    if (!data || len > GDB_PACKET_SIZE) {
        reply_error(s, EINVAL);
        return RSP_STAY;
    }
    data++;
    uint8_t *buf = g_malloc(len ? len : 1);
    size_t avail = s->in->len - (size_t)(data - s->in->str);
    size_t got = binary ? get_binary(data, avail, buf, len) : (size_t)get_hex(data, buf, len);
    long n = got == len ? (len ? s->ops->write_mem(s->opaque, addr, buf, len) : 0) : -EINVAL;
    if (n < 0 || (size_t)n != len) {
        reply_error(s, EFAULT);
    } else {
        g_string_assign(s->out, "OK");
    }
    g_free(buf);
    return RSP_STAY;
}

static int cmd_mem_write_hex(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    return mem_write(s, args, false);
}

static int cmd_mem_write_bin(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    return mem_write(s, args, true);
}

/* Z type,addr,kind / z type,addr,kind; s->in->str[0] says which. */
static int cmd_breakpoint(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    char *p;
    int type = (int)strtol(args, &p, 10);
    uint64_t addr = *p == ',' ? strtoull(p + 1, &p, 16) : 0;
    uint64_t len = *p == ',' ? strtoull(p + 1, NULL, 16) : 1;
    bool insert = s->in->str[0] == 'Z';
    int err = insert ? s->ops->insert_bp(s->opaque, type, addr, len) : s->ops->remove_bp(s->opaque, type, addr, len);
    if (err == -ENOSYS) {
        g_string_truncate(s->out, 0);   /* empty: this kind is not supported */
    } else if (err < 0) {
        reply_error(s, -err);
    } else {
        g_string_assign(s->out, "OK");
    }
    return RSP_STAY;
}

static void resume_all(GdbResume *r, GdbResumeKind kind, int signal)
{
    r->default_kind = kind;
    r->default_signal = signal;
    r->n = 0;
}

/* c [addr], s [addr], C sig[;addr], S sig[;addr]: the resuming address, if given, moves the pc of Hc's thread. */
static int cmd_resume_legacy(GdbServer *s, const char *args, GdbResume *r)
{
    char c = s->in->str[0];
    int sig = 0;
    const char *addr = args;
    if (c == 'C' || c == 'S') {
        char *p;
        sig = gdb_signal_to_host((int)strtol(args, &p, 16));
        addr = *p == ';' ? p + 1 : p;
    }
    if (*addr) {
        uint64_t pc = strtoull(addr, NULL, 16);
        int tid = s->c_tid > 0 ? s->c_tid : s->last_stop.tid;
        s->ops->write_reg(s->opaque, tid, 16, (const uint8_t *)&pc, 8);   /* 16: the pc in x86-64 numbering */
    }
    bool step = c == 's' || c == 'S';
    int tid = s->c_tid > 0 ? s->c_tid : s->last_stop.tid;
    if (step) {
        /* All-stop: the others continue while one thread steps (gdb's default scheduler-locking off). */
        resume_all(r, GDB_RESUME_CONTINUE, 0);
        r->n = 1;
        r->thread[0].tid = tid;
        r->thread[0].kind = GDB_RESUME_STEP;
        r->thread[0].signal = sig;
    } else {
        resume_all(r, GDB_RESUME_CONTINUE, 0);
        r->n = 1;
        r->thread[0].tid = tid;
        r->thread[0].kind = GDB_RESUME_CONTINUE;
        r->thread[0].signal = sig;
    }
    return RSP_RESUME;
}

/* vCont;action[:tid];... */
static int vcont(const char *args, GdbResume *r)
{
    resume_all(r, GDB_RESUME_NONE, 0);
    const char *p = args;
    while (*p == ';') {
        p++;
        char a = *p++;
        int sig = 0;
        if (a == 'C' || a == 'S') {
            char *e;
            sig = gdb_signal_to_host((int)strtol(p, &e, 16));
            p = e;
        }
        GdbResumeKind kind = (a == 's' || a == 'S') ? GDB_RESUME_STEP : GDB_RESUME_CONTINUE;
        if (a == 't') {
            kind = GDB_RESUME_NONE;   /* stop: the threads are stopped already in all-stop mode */
        } else if (a == 'r') {
            /* range step: treated as a single step; gdb steps again while the pc stays in the range */
            kind = GDB_RESUME_STEP;
            strtoull(p, (char **)&p, 16);
            if (*p == ',') strtoull(p + 1, (char **)&p, 16);
        }
        if (*p == ':') {
            int tid = parse_tid(p + 1, &p);
            if (tid > 0 && r->n < GDB_RESUME_MAX_THREADS) {
                bool seen = false;
                for (int i = 0; i < r->n; i++) {
                    seen |= r->thread[i].tid == tid;   /* the leftmost action for a thread wins */
                }
                if (!seen) {
                    r->thread[r->n].tid = tid;
                    r->thread[r->n].kind = kind;
                    r->thread[r->n].signal = sig;
                    r->n++;
                }
                continue;
            }
        }
        if (r->default_kind == GDB_RESUME_NONE) {
            r->default_kind = kind;
            r->default_signal = sig;
        }
    }
    return RSP_RESUME;
}

static int cmd_thread_select(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    int tid = parse_tid(args + 1, NULL);
    if (tid > 0 && !s->ops->thread_alive(s->opaque, tid)) {
        reply_error(s, ESRCH);
        return RSP_STAY;
    }
    if (args[0] == 'g') {
        s->g_tid = tid;
    } else {
        s->c_tid = tid;
    }
    g_string_assign(s->out, "OK");
    return RSP_STAY;
}

static int cmd_thread_alive(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    if (s->ops->thread_alive(s->opaque, parse_tid(args, NULL))) {
        g_string_assign(s->out, "OK");
    } else {
        reply_error(s, ESRCH);
    }
    return RSP_STAY;
}

static int cmd_stop_reason(GdbServer *s, const char *args, GdbResume *r)
{
    (void)args;
    (void)r;
    stop_reply(s, &s->last_stop);
    return RSP_STAY;
}

static int cmd_kill(GdbServer *s, const char *args, GdbResume *r)
{
    (void)s;
    (void)args;
    r->kill = true;
    return RSP_RESUME;   /* no reply: the target dies */
}

static int cmd_detach(GdbServer *s, const char *args, GdbResume *r)
{
    (void)args;
    g_string_assign(s->out, "OK");
    r->detach = true;
    resume_all(r, GDB_RESUME_CONTINUE, 0);
    return RSP_RESUME;
}

/* qXfer:object:read:annex:offset,length */
static void xfer_read(GdbServer *s, const char *args)
{
    char object[32], annex[64];
    unsigned long long off, len;
    if (sscanf(args, "%31[^:]:read:%63[^:]:%llx,%llx", object, annex, &off, &len) != 4) {
        annex[0] = 0;
        if (sscanf(args, "%31[^:]:read::%llx,%llx", object, &off, &len) != 3) {
            g_string_truncate(s->out, 0);
            return;
        }
    }
    char key[96];
    snprintf(key, sizeof(key), "%s:%s", object, annex);
    /* Build the object at offset 0 and keep it for the following pieces, so they are consistent. */
    if (off == 0 || strcmp(key, s->xfer_key) != 0) {
        g_string_truncate(s->xfer, 0);
        int ok = -1;
        if (strcmp(object, "features") == 0) {
            const char *xml = s->ops->tdesc(s->opaque, annex);
            if (xml) {
                g_string_assign(s->xfer, xml);
                ok = 0;
            }
        } else if (s->ops->xfer_read) {
            ok = s->ops->xfer_read(s->opaque, object, annex, s->xfer);
        }
        if (ok < 0) {
            s->xfer_key[0] = 0;
            reply_error(s, ENOENT);
            return;
        }
        g_strlcpy(s->xfer_key, key, sizeof(s->xfer_key));
    }
    if (len > GDB_PACKET_SIZE / 2) {
        len = GDB_PACKET_SIZE / 2;   /* room for escapes */
    }
    if (off >= s->xfer->len) {
        g_string_assign(s->out, "l");
        return;
    }
    size_t n = s->xfer->len - off < len ? s->xfer->len - off : len;
    g_string_assign(s->out, off + n >= s->xfer->len ? "l" : "m");
    put_binary(s->out, s->xfer->str + off, n);
}

static void thread_list(GdbServer *s, bool first)
{
    static int tids[GDB_MAX_TIDS];
    int n = s->ops->threads(s->opaque, tids, GDB_MAX_TIDS);
    if (first) {
        s->tid_cursor = 0;
    }
    if (s->tid_cursor >= n) {
        g_string_assign(s->out, "l");
        return;
    }
    g_string_assign(s->out, "m");
    for (int i = s->tid_cursor; i < n; i++) {
        g_string_append_printf(s->out, "%s%x", i > s->tid_cursor ? "," : "", tids[i]);
    }
    s->tid_cursor = n;
}

static int cmd_query(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    if (g_str_has_prefix(args, "Supported")) {
        g_string_printf(s->out,
                        "PacketSize=%x;qXfer:features:read+;vContSupported+;QStartNoAckMode+;swbreak+;hwbreak+;"
                        "multiprocess-",
                        GDB_PACKET_SIZE);
        if (s->ops->xfer_features) {
            g_string_append_printf(s->out, ";%s", s->ops->xfer_features);
        }
    } else if (g_str_has_prefix(args, "Xfer:")) {
        xfer_read(s, args + 5);
    } else if (strcmp(args, "fThreadInfo") == 0 || strcmp(args, "sThreadInfo") == 0) {
        thread_list(s, args[0] == 'f');
    } else if (strcmp(args, "C") == 0) {
        g_string_printf(s->out, "QC%x", s->last_stop.tid);
    } else if (strcmp(args, "Attached") == 0) {
        g_string_assign(s->out, "0");   /* we started the process: quitting gdb kills it */
    } else if (g_str_has_prefix(args, "Symbol")) {
        g_string_assign(s->out, "OK");
    }
    return RSP_STAY;
}

static int cmd_set(GdbServer *s, const char *args, GdbResume *r)
{
    (void)r;
    if (strcmp(args, "StartNoAckMode") == 0) {
        g_string_assign(s->out, "OK");
        rsp_send(s, s->out->str, s->out->len);
        s->noack = true;
        g_string_truncate(s->out, 0);
        return -1;   /* already answered */
    }
    return RSP_STAY;
}

static int cmd_v(GdbServer *s, const char *args, GdbResume *r)
{
    if (strcmp(args, "Cont?") == 0) {
        g_string_assign(s->out, "vCont;c;C;s;S;t;r");
    } else if (g_str_has_prefix(args, "Cont;")) {
        return vcont(args + 4, r);
    } else if (g_str_has_prefix(args, "Kill")) {
        g_string_assign(s->out, "OK");
        rsp_send(s, s->out->str, s->out->len);
        r->kill = true;
        g_string_truncate(s->out, 0);
        return RSP_RESUME;
    }
    return RSP_STAY;   /* vMustReplyEmpty and the rest: empty */
}

typedef int (*RspCommand)(GdbServer *s, const char *args, GdbResume *r);

/* One handler per first character; args is the packet after it. */
static const RspCommand rsp_commands[128] = {
    ['?'] = cmd_stop_reason, ['g'] = cmd_regs_read,     ['G'] = cmd_regs_write,    ['p'] = cmd_reg_read,
    ['P'] = cmd_reg_write,   ['m'] = cmd_mem_read,      ['M'] = cmd_mem_write_hex, ['X'] = cmd_mem_write_bin,
    ['Z'] = cmd_breakpoint,  ['z'] = cmd_breakpoint,    ['c'] = cmd_resume_legacy, ['s'] = cmd_resume_legacy,
    ['C'] = cmd_resume_legacy, ['S'] = cmd_resume_legacy, ['H'] = cmd_thread_select, ['T'] = cmd_thread_alive,
    ['k'] = cmd_kill,        ['D'] = cmd_detach,        ['q'] = cmd_query,         ['Q'] = cmd_set,
    ['v'] = cmd_v,
};

void gdb_rsp_init(GdbServer *s, int fd, const GdbTargetOps *ops, void *opaque)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->ops = ops;
    s->opaque = opaque;
    s->in = g_string_sized_new(GDB_PACKET_SIZE);
    s->out = g_string_sized_new(GDB_PACKET_SIZE);
    s->xfer = g_string_new(NULL);
}

int gdb_rsp_serve(GdbServer *s, const GdbStop *stop, GdbResume *resume)
{
    memset(resume, 0, sizeof(*resume));
    s->last_stop = *stop;
    s->g_tid = s->c_tid = 0;
    if (stop->tid > 0) {
        s->g_tid = stop->tid;   /* gdb expects the registers of the thread that stopped */
    }
    /* gdb waits for a stop reply only after it resumed us; the first stop it asks for with '?'. */
    if (s->running) {
        stop_reply(s, stop);
        if (rsp_send(s, s->out->str, s->out->len) < 0) {
            return -1;
        }
    }
    for (;;) {
        if (rsp_read_packet(s) < 0) {
            return -1;
        }
        g_string_truncate(s->out, 0);
        unsigned char c = (unsigned char)s->in->str[0];
        RspCommand cmd = c < 128 ? rsp_commands[c] : NULL;
        int what = cmd ? cmd(s, s->in->str + 1, resume) : RSP_STAY;
        if (what == -1) {
            continue;   /* the handler answered itself */
        }
        if (what == RSP_RESUME) {
            s->running = !resume->detach && !resume->kill;
            if (s->out->len && rsp_send(s, s->out->str, s->out->len) < 0 && !resume->kill) {
                return -1;
            }
            return 0;
        }
        if (rsp_send(s, s->out->str, s->out->len) < 0) {
            return -1;
        }
    }
}

void gdb_rsp_report_exit(GdbServer *s, const GdbStop *stop)
{
    s->last_stop = *stop;
    stop_reply(s, stop);
    rsp_send(s, s->out->str, s->out->len);
}

GdbResumeKind gdb_resume_for(const GdbResume *r, int tid, int *signal)
{
    for (int i = 0; i < r->n; i++) {
        if (r->thread[i].tid == tid) {
            *signal = r->thread[i].signal;
            return r->thread[i].kind;
        }
    }
    *signal = r->default_signal;
    return r->default_kind;
}
