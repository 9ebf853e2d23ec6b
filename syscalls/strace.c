/*
 * -strace: the line, numbers, strings and buffers. Flag names are in strace-flags.c, structures in
 * strace-struct.c. Guest memory is read with syscall_peek, so a bad pointer prints as a number instead
 * of crashing the emulator.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "syscalls/strace-int.h"

void strace_printf(StraceBuf *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

void strace_puts(StraceBuf *b, const char *s) { strace_printf(b, "%s", s); }

void strace_put_ptr(StraceBuf *b, uint64_t addr)
{
    if (addr)
        strace_printf(b, "%#" PRIx64, addr);
    else
        strace_puts(b, "NULL");
}

/* strace's escapes: C escapes for the common controls, octal for other bytes (three digits only when an
   octal digit follows, so the reader cannot merge them). */
static void put_escaped(StraceBuf *b, const uint8_t *s, size_t n, bool hex)
{
    if (hex) {
        for (size_t i = 0; i < n; i++)
            strace_printf(b, "\\x%02x", s[i]);
        return;
    }
    static const char controls[] = { ['\t'] = 't', ['\n'] = 'n', ['\v'] = 'v', ['\f'] = 'f', ['\r'] = 'r' };
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            strace_printf(b, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            strace_printf(b, "%c", c);
        else if (c < sizeof controls && controls[c])
            strace_printf(b, "\\%c", controls[c]);
        else if (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7')
            strace_printf(b, "\\%03o", c);
        else
            strace_printf(b, "\\%o", c);
    }
}

static void put_bytes(StraceBuf *b, uint64_t addr, size_t len, size_t max, bool hex)
{
    uint8_t data[STRACE_PATH_MAX];
    size_t want = len < max ? len : max;
    if (want > sizeof data)
        want = sizeof data;
    if (syscall_peek(data, addr, want) != want) {
        strace_put_ptr(b, addr);
        return;
    }
    strace_puts(b, "\"");
    put_escaped(b, data, want, hex);
    strace_puts(b, len > want ? "\"..." : "\"");
}

void strace_put_bytes(StraceBuf *b, uint64_t addr, size_t len, size_t max)
{
    put_bytes(b, addr, len, max, false);
}

void strace_put_hex_bytes(StraceBuf *b, uint64_t addr, size_t len, size_t max)
{
    put_bytes(b, addr, len, max, true);
}

void strace_put_cstring(StraceBuf *b, uint64_t addr, size_t max)
{
    if (!addr) {
        strace_puts(b, "NULL");
        return;
    }
    /* read page by page: the string may end just before an unmapped page */
    uint8_t data[STRACE_PATH_MAX + 1];
    size_t want = max + 1 < sizeof data ? max + 1 : sizeof data, got = 0;
    while (got < want) {
        size_t chunk = 4096 - ((addr + got) & 4095);
        if (chunk > want - got)
            chunk = want - got;
        size_t n = syscall_peek(data + got, addr + got, chunk);
        got += n;
        if (n < chunk || memchr(data + got - n, 0, n))
            break;
    }
    uint8_t *end = memchr(data, 0, got);
    if (!end && got < want) {            /* unreadable before its end */
        strace_put_ptr(b, addr);
        return;
    }
    size_t len = end ? (size_t)(end - data) : got;
    strace_puts(b, "\"");
    put_escaped(b, data, len < max ? len : max, false);
    strace_puts(b, len > max ? "\"..." : "\"");
}

/* ---- the scalar, string and buffer kinds ---- */

static void fmt_int(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_printf(b, "%d", (int)c->args[i]);
}

static void fmt_uint(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_printf(b, "%u", (unsigned)c->args[i]);
}

static void fmt_hex(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_printf(b, c->args[i] ? "%#lx" : "0", (unsigned long)c->args[i]);
}

static void fmt_size(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_printf(b, "%lu", (unsigned long)c->args[i]);
}

static void fmt_off(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_printf(b, "%ld", c->args[i]);
}

static void fmt_dirfd(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    if ((int)c->args[i] == -100)
        strace_puts(b, "AT_FDCWD");
    else
        strace_printf(b, "%d", (int)c->args[i]);
}

static void fmt_ptr(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_put_ptr(b, (uint64_t)c->args[i]);
}

static void fmt_path(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_put_cstring(b, (uint64_t)c->args[i], STRACE_PATH_MAX - 1);
}

static void fmt_str(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_put_cstring(b, (uint64_t)c->args[i], STRACE_STRING_MAX);
}

static void fmt_buf_in(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_put_bytes(b, (uint64_t)c->args[i], i < 5 ? (size_t)c->args[i + 1] : 0, STRACE_STRING_MAX);
}

static void fmt_buf_out(StraceBuf *b, StraceCall *c, int i, long ret)
{
    strace_put_bytes(b, (uint64_t)c->args[i], (size_t)ret, STRACE_STRING_MAX);
}

static void fmt_buf_out_hex(StraceBuf *b, StraceCall *c, int i, long ret)
{
    strace_put_hex_bytes(b, (uint64_t)c->args[i], (size_t)ret, STRACE_STRING_MAX);
}

/* [{iov_base="...", iov_len=5}, ...]; for a read, the bytes are spread over the buffers in order. */
static void put_iovec(StraceBuf *b, StraceCall *c, int i, long ret, bool out)
{
    enum { IOV_SHOWN = 8 };
    unsigned long count = i < 5 ? (unsigned long)c->args[i + 1] : 0;
    struct iovec iov[IOV_SHOWN];
    size_t n = count < IOV_SHOWN ? count : IOV_SHOWN;
    if (syscall_peek(iov, (uint64_t)c->args[i], n * sizeof *iov) != n * sizeof *iov) {
        strace_put_ptr(b, (uint64_t)c->args[i]);
        return;
    }
    size_t left = out ? (size_t)ret : SIZE_MAX;
    strace_puts(b, "[");
    for (size_t k = 0; k < n; k++) {
        size_t len = iov[k].iov_len < left ? iov[k].iov_len : left;
        left -= len;
        strace_puts(b, k ? ", {iov_base=" : "{iov_base=");
        strace_put_bytes(b, (uint64_t)iov[k].iov_base, len, STRACE_STRING_MAX);
        strace_printf(b, ", iov_len=%zu}", iov[k].iov_len);
    }
    strace_puts(b, count > n ? ", ...]" : "]");
}

static void fmt_iov_in(StraceBuf *b, StraceCall *c, int i, long ret) { put_iovec(b, c, i, ret, false); }
static void fmt_iov_out(StraceBuf *b, StraceCall *c, int i, long ret) { put_iovec(b, c, i, ret, true); }

static const StraceFormatter base_formatters[SK_COUNT] = {
    [SK_INT] = fmt_int, [SK_UINT] = fmt_uint, [SK_HEX] = fmt_hex, [SK_SIZE] = fmt_size, [SK_OFF] = fmt_off,
    [SK_FD] = fmt_int, [SK_PID] = fmt_int, [SK_DIRFD] = fmt_dirfd, [SK_PTR] = fmt_ptr, [SK_PATH] = fmt_path,
    [SK_STR] = fmt_str, [SK_STR_OUT] = fmt_path, [SK_BUF_IN] = fmt_buf_in, [SK_BUF_OUT] = fmt_buf_out,
    [SK_BUF_OUT_HEX] = fmt_buf_out_hex,
    [SK_IOV_IN] = fmt_iov_in, [SK_IOV_OUT] = fmt_iov_out,
};

static StraceFormatter formatter(SyscallKind kind)
{
    if (kind >= SK_COUNT)
        return fmt_hex;
    if (base_formatters[kind])
        return base_formatters[kind];
    StraceFormatter f = strace_flag_formatter(kind);
    if (!f)
        f = strace_struct_formatter(kind);
    return f ? f : fmt_hex;
}

/* ---- the line ---- */

static void format_arg(StraceCall *c, int i, long ret)
{
    StraceBuf b = { c->text[i], 0, sizeof c->text[i] };
    c->text[i][0] = 0;
    formatter(c->kind[i])(&b, c, i, ret);
}

void strace_enter(StraceCall *c, long nr, const long args[6])
{
    c->nr = nr;
    memcpy(c->args, args, sizeof c->args);
    c->info = syscall_info(nr);
    for (int i = 0; i < 6; i++)
        c->kind[i] = c->info ? c->info->kind[i] : SK_HEX;
    c->shown = c->info ? c->info->nargs : 6;
    for (int i = 0; i < c->shown; i++)
        if (syscall_kind_flags(c->kind[i]) & SKF_OUT)
            c->text[i][0] = 0;
        else
            format_arg(c, i, 0);
}

/* The syscalls whose result is an address. */
static bool returns_address(long nr)
{
    return nr == SYS_mmap || nr == SYS_mremap || nr == SYS_brk || nr == SYS_shmat;
}

/* The kernel's internal restart codes: handlers may return them; strace names them too. */
static const StraceName restart_errnos[] = {
    { 512, "ERESTARTSYS" }, { 513, "ERESTARTNOINTR" }, { 514, "ERESTARTNOHAND" },
    { 515, "ENOIOCTLCMD" }, { 516, "ERESTART_RESTARTBLOCK" }, { 0, NULL },
};

const char *strace_errno_name(int err, char *buf)
{
    const char *name = strerrorname_np(err);
    for (const StraceName *r = restart_errnos; !name && r->name; r++)
        if (r->value == (uint64_t)err)
            name = r->name;
    if (name)
        return name;
    snprintf(buf, 32, "errno %d", err);
    return buf;
}

static void put_result(StraceBuf *b, const StraceCall *c, long ret)
{
    if (ret == STRACE_NO_RETURN) {
        strace_puts(b, "?");
    } else if (ret < 0 && ret >= -4095) {
        char tmp[32];
        int err = (int)-ret;
        const char *name = strace_errno_name(err, tmp);
        if (err >= 512 && err <= 516)
            strace_printf(b, "? %s (To be restarted)", name);
        else
            strace_printf(b, "-1 %s (%s)", name, strerror(err));
    } else if (returns_address(c->nr)) {
        strace_printf(b, "%#lx", (unsigned long)ret);
    } else {
        strace_printf(b, "%ld", ret);
    }
}

/* Output arguments: their contents after success, only their address after a failure. */
static void format_out_args(StraceCall *c, long ret)
{
    bool failed = ret < 0 && ret >= -4095;
    for (int i = 0; i < c->shown; i++) {
        if (!(syscall_kind_flags(c->kind[i]) & SKF_OUT))
            continue;
        if (failed || ret == STRACE_NO_RETURN) {
            StraceBuf b = { c->text[i], 0, sizeof c->text[i] };
            strace_put_ptr(&b, (uint64_t)c->args[i]);
        } else {
            format_arg(c, i, ret);
        }
    }
}

static void put_call(StraceBuf *b, const StraceCall *c, int pid)
{
    if (c->info)
        strace_printf(b, "%d %s(", pid, c->info->name);
    else
        strace_printf(b, "%d syscall_%ld(", pid, c->nr);
    for (int i = 0; i < c->shown; i++)
        strace_printf(b, i ? ", %s" : "%s", c->text[i]);
}

/* A line cut short still ends the line. */
static size_t end_line(StraceBuf *b)
{
    if (b->cap < 2)
        return 0;
    if (b->len + 1 >= b->cap)
        b->len = b->cap - 2;
    b->p[b->len++] = '\n';
    b->p[b->len] = 0;
    return b->len;
}

size_t strace_exit(StraceCall *c, int pid, long ret, char *line, size_t size)
{
    format_out_args(c, ret);
    StraceBuf b = { line, 0, size };
    put_call(&b, c, pid);
    strace_puts(&b, ") = ");
    put_result(&b, c, ret);
    return end_line(&b);
}

size_t strace_unfinished(StraceCall *c, int pid, char *line, size_t size)
{
    format_out_args(c, STRACE_NO_RETURN);
    StraceBuf b = { line, 0, size };
    put_call(&b, c, pid);
    strace_puts(&b, " <unfinished ...>");
    return end_line(&b);
}

size_t strace_resumed(StraceCall *c, int pid, long ret, char *line, size_t size)
{
    StraceBuf b = { line, 0, size };
    strace_printf(&b, "%d <... %s resumed>) = ", pid, c->info ? c->info->name : "syscall");
    put_result(&b, c, ret);
    return end_line(&b);
}
