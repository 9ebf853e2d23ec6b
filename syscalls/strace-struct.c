/*
 * -strace: structures, read from guest memory (sigsets, sigaction, stat, timespec, sockaddr, argv...).
 * Layouts are the x86-64 kernel's, which the host's headers describe.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "syscalls/strace-int.h"

#define N(x) { (uint64_t)(x), #x }
#define END { 0, NULL }
#define ARG(c, i) ((uint64_t)(c)->args[i])

/* Reads a whole structure, or prints the pointer (NULL or unreadable) and returns false. */
static bool peek_struct(StraceBuf *b, uint64_t addr, void *dst, size_t size)
{
    if (addr && syscall_peek(dst, addr, size) == size)
        return true;
    strace_put_ptr(b, addr);
    return false;
}

static void fmt_sigset(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    uint64_t set;
    if (peek_struct(b, ARG(c, i), &set, sizeof set))
        strace_put_sigset(b, set);
}

/* The kernel's struct sigaction on x86-64 (not glibc's): handler, flags, restorer, mask. */
struct kernel_sigaction {
    uint64_t handler, flags, restorer, mask;
};

#define KERNEL_SA_RESTORER 0x04000000u

/* in strace's order */
static const StraceName sa_flags[] = {
    { KERNEL_SA_RESTORER, "SA_RESTORER" }, N(SA_ONSTACK), N(SA_RESTART), N(SA_NODEFER), N(SA_RESETHAND),
    N(SA_SIGINFO), N(SA_NOCLDSTOP), N(SA_NOCLDWAIT), END,
};

static void fmt_sigaction(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    struct kernel_sigaction sa;
    if (!peek_struct(b, ARG(c, i), &sa, sizeof sa))
        return;
    strace_puts(b, "{sa_handler=");
    if (sa.handler == 0)
        strace_puts(b, "SIG_DFL");
    else if (sa.handler == 1)
        strace_puts(b, "SIG_IGN");
    else
        strace_printf(b, "%#" PRIx64, sa.handler);
    strace_puts(b, ", sa_mask=");
    strace_put_sigset(b, sa.mask);
    strace_puts(b, ", sa_flags=");
    strace_put_flags(b, sa.flags, sa_flags, "0");
    if (sa.flags & KERNEL_SA_RESTORER)
        strace_printf(b, ", sa_restorer=%#" PRIx64, sa.restorer);
    strace_puts(b, "}");
}

/* stack_t on x86-64: ss_sp, ss_flags (int, then padding), ss_size. */
struct guest_stack {
    uint64_t sp;
    int32_t flags, pad;
    uint64_t size;
};

static const StraceName ss_flags[] = {
    N(SS_ONSTACK), N(SS_DISABLE), { 1u << 31, "SS_AUTODISARM" }, END,
};

static void fmt_stack(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    struct guest_stack st;
    if (!peek_struct(b, ARG(c, i), &st, sizeof st))
        return;
    strace_puts(b, "{ss_sp=");
    strace_put_ptr(b, st.sp);
    strace_puts(b, ", ss_flags=");
    strace_put_flags(b, (uint32_t)st.flags, ss_flags, "0");
    strace_printf(b, ", ss_size=%" PRIu64 "}", st.size);
}

/* The first version of struct clone_args (the fields every kernel since 5.3 reads). */
struct guest_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static void fmt_clone_args(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    struct guest_clone_args ca;
    if (!peek_struct(b, ARG(c, i), &ca, sizeof ca))
        return;
    StraceCall flags = { .shown = 1, .args = { (long)ca.flags }, .kind = { SK_CLONE_FLAGS } };
    strace_puts(b, "{flags=");
    strace_flag_formatter(SK_CLONE_FLAGS)(b, &flags, 0, 0);
    strace_printf(b, ", child_tid=%#" PRIx64 ", parent_tid=%#" PRIx64 ", exit_signal=", ca.child_tid, ca.parent_tid);
    strace_put_signal(b, (int)ca.exit_signal);
    strace_printf(b, ", stack=%#" PRIx64 ", stack_size=%#" PRIx64 ", tls=%#" PRIx64 "}", ca.stack, ca.stack_size,
                  ca.tls);
}

static const StraceName resolve_flags[] = {
    N(RESOLVE_NO_XDEV), N(RESOLVE_NO_MAGICLINKS), N(RESOLVE_NO_SYMLINKS), N(RESOLVE_BENEATH),
    N(RESOLVE_IN_ROOT), N(RESOLVE_CACHED), END,
};

static void fmt_open_how(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    struct open_how how;
    if (!peek_struct(b, ARG(c, i), &how, sizeof how))
        return;
    /* open flags print like open's own argument */
    StraceCall flags = { .shown = 1, .args = { (long)how.flags }, .kind = { SK_OPEN_FLAGS } };
    strace_puts(b, "{flags=");
    strace_flag_formatter(SK_OPEN_FLAGS)(b, &flags, 0, 0);
    strace_printf(b, ", mode=%#03" PRIo64 ", resolve=", (uint64_t)how.mode);
    strace_put_flags(b, how.resolve, resolve_flags, "0");
    strace_puts(b, "}");
}

static void fmt_wstatus(StraceBuf *b, StraceCall *c, int i, long ret)
{
    int s;
    if (ret <= 0) {                      /* nothing was reaped (WNOHANG): the status is untouched */
        strace_put_ptr(b, ARG(c, i));
        return;
    }
    if (!peek_struct(b, ARG(c, i), &s, sizeof s))
        return;
    char sig[32];
    if (WIFEXITED(s))
        strace_printf(b, "[{WIFEXITED(s) && WEXITSTATUS(s) == %d}]", WEXITSTATUS(s));
    else if (WIFSIGNALED(s))
        strace_printf(b, "[{WIFSIGNALED(s) && WTERMSIG(s) == %s%s}]", strace_signal_name(WTERMSIG(s), sig),
                      WCOREDUMP(s) ? " && WCOREDUMP(s)" : "");
    else if (WIFSTOPPED(s))
        strace_printf(b, "[{WIFSTOPPED(s) && WSTOPSIG(s) == %s}]", strace_signal_name(WSTOPSIG(s), sig));
    else
        strace_printf(b, "[%#x]", (unsigned)s);
}

static const StraceName families[] = {
    N(AF_UNSPEC), N(AF_UNIX), N(AF_INET), N(AF_INET6), N(AF_NETLINK), N(AF_PACKET), N(AF_ALG), N(AF_VSOCK), END,
};

void strace_put_sockaddr(StraceBuf *b, uint64_t addr, uint64_t len)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (len < sizeof(sa_family_t) || len > sizeof ss || !peek_struct(b, addr, &ss, len)) {
        if (len < sizeof(sa_family_t) || len > sizeof ss)
            strace_put_ptr(b, addr);
        return;
    }
    strace_puts(b, "{sa_family=");
    strace_put_enum(b, ss.ss_family, families);
    char text[INET6_ADDRSTRLEN];
    if (ss.ss_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        strace_printf(b, ", sin_port=htons(%u), sin_addr=inet_addr(\"%s\")", ntohs(in->sin_port), text);
    } else if (ss.ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        strace_printf(b, ", sin6_port=htons(%u), sin6_flowinfo=htonl(%u), inet_pton(AF_INET6, \"%s\", &sin6_addr), "
                         "sin6_scope_id=%u", ntohs(in6->sin6_port), ntohl(in6->sin6_flowinfo), text, in6->sin6_scope_id);
    } else if (ss.ss_family == AF_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;
        size_t path_len = len - offsetof(struct sockaddr_un, sun_path);
        /* an abstract address starts with a NUL: strace prints it as @name */
        bool abstract = path_len > 0 && un->sun_path[0] == 0;
        size_t n = abstract ? path_len - 1 : strnlen(un->sun_path, path_len);
        strace_printf(b, abstract ? ", sun_path=@\"%.*s\"" : ", sun_path=\"%.*s\"", (int)n,
                      un->sun_path + abstract);
    } else {
        strace_puts(b, ", ...");
    }
    strace_puts(b, "}");
}

static void fmt_sockaddr(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    if (!c->args[i] || i >= 5)
        strace_put_ptr(b, ARG(c, i));
    else
        strace_put_sockaddr(b, ARG(c, i), (uint32_t)ARG(c, i + 1));
}

static void fmt_fdpair(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    int fds[2];
    if (peek_struct(b, ARG(c, i), fds, sizeof fds))
        strace_printf(b, "[%d, %d]", fds[0], fds[1]);
}

static void put_size_or_rdev(StraceBuf *b, const char *prefix, uint64_t mode, uint64_t size, uint64_t rdev)
{
    if (S_ISCHR(mode) || S_ISBLK(mode))
        strace_printf(b, ", %s_rdev=makedev(%#x, %#x)", prefix, major(rdev), minor(rdev));
    else
        strace_printf(b, ", %s_size=%" PRIu64, prefix, size);
}

static void fmt_stat(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    struct stat st;
    if (!peek_struct(b, ARG(c, i), &st, sizeof st))
        return;
    strace_puts(b, "{st_mode=");
    strace_put_mode(b, st.st_mode, true);
    put_size_or_rdev(b, "st", st.st_mode, (uint64_t)st.st_size, st.st_rdev);
    strace_puts(b, ", ...}");
}

static void fmt_statx(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    struct statx stx;
    if (!peek_struct(b, ARG(c, i), &stx, sizeof stx))
        return;
    strace_printf(b, "{stx_mask=%#x, stx_mode=", stx.stx_mask);
    strace_put_mode(b, stx.stx_mode, true);
    put_size_or_rdev(b, "stx", stx.stx_mode, stx.stx_size, makedev(stx.stx_rdev_major, stx.stx_rdev_minor));
    strace_puts(b, ", ...}");
}

/* timespec and timeval: two 64-bit fields on x86-64. */
static void put_time(StraceBuf *b, uint64_t addr, const char *frac)
{
    int64_t t[2];
    if (peek_struct(b, addr, t, sizeof t))
        strace_printf(b, "{tv_sec=%" PRId64 ", %s=%" PRId64 "}", t[0], frac, t[1]);
}

static void fmt_timespec(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    put_time(b, ARG(c, i), "tv_nsec");
}

static void fmt_timeval(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    put_time(b, ARG(c, i), "tv_usec");
}

static void fmt_utsname(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    struct utsname u;
    if (!peek_struct(b, ARG(c, i), &u, sizeof u))
        return;
    strace_puts(b, "{sysname=");
    strace_put_cstring(b, ARG(c, i) + offsetof(struct utsname, sysname), STRACE_STRING_MAX);
    strace_puts(b, ", nodename=");
    strace_put_cstring(b, ARG(c, i) + offsetof(struct utsname, nodename), STRACE_STRING_MAX);
    strace_puts(b, ", ...}");
}

/* strace writes limits in KiB units when they are whole ones. */
static void put_limit(StraceBuf *b, uint64_t v, bool is64)
{
    if (v == ~0ULL)
        strace_puts(b, is64 ? "RLIM64_INFINITY" : "RLIM_INFINITY");
    else if (v >= 1024 && v % 1024 == 0)
        strace_printf(b, "%" PRIu64 "*1024", v / 1024);
    else
        strace_printf(b, "%" PRIu64, v);
}

static void fmt_rlimit(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    uint64_t lim[2];
    if (!peek_struct(b, ARG(c, i), lim, sizeof lim))
        return;
    bool is64 = c->nr == SYS_prlimit64;
    strace_puts(b, "{rlim_cur=");
    put_limit(b, lim[0], is64);
    strace_puts(b, ", rlim_max=");
    put_limit(b, lim[1], is64);
    strace_puts(b, "}");
}

/* Long argument lists are cut: the line has to stay readable and bounded. */
#define ARGV_SHOWN 32
#define ENVP_COUNTED 65536

static void fmt_argv(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    uint64_t addr = ARG(c, i), p;
    if (!peek_struct(b, addr, &p, sizeof p))
        return;
    strace_puts(b, "[");
    for (int n = 0; p; n++) {
        if (n == ARGV_SHOWN) {
            strace_puts(b, ", ...");
            break;
        }
        if (n)
            strace_puts(b, ", ");
        strace_put_cstring(b, p, STRACE_STRING_MAX);
        if (syscall_peek(&p, addr + 8 * (n + 1), sizeof p) != sizeof p)
            break;
    }
    strace_puts(b, "]");
}

static void fmt_envp(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    uint64_t addr = ARG(c, i), p = 0;
    strace_put_ptr(b, addr);
    int n = 0;
    while (addr && n < ENVP_COUNTED && syscall_peek(&p, addr + 8 * (uint64_t)n, sizeof p) == sizeof p && p)
        n++;
    if (addr)
        strace_printf(b, " /* %d var%s */", n, n == 1 ? "" : "s");
}

StraceFormatter strace_struct_formatter(SyscallKind kind)
{
    static const StraceFormatter formatters[SK_COUNT] = {
        [SK_SIGSET] = fmt_sigset, [SK_SIGSET_OUT] = fmt_sigset, [SK_SIGACTION] = fmt_sigaction,
        [SK_SIGACTION_OUT] = fmt_sigaction, [SK_OPEN_HOW] = fmt_open_how, [SK_WSTATUS_OUT] = fmt_wstatus,
        [SK_SOCKADDR] = fmt_sockaddr, [SK_FDPAIR_OUT] = fmt_fdpair, [SK_STAT_OUT] = fmt_stat,
        [SK_STATX_OUT] = fmt_statx, [SK_TIMESPEC] = fmt_timespec, [SK_TIMESPEC_OUT] = fmt_timespec,
        [SK_TIMEVAL] = fmt_timeval, [SK_TIMEVAL_OUT] = fmt_timeval, [SK_UTSNAME_OUT] = fmt_utsname,
        [SK_ARGV] = fmt_argv, [SK_ENVP] = fmt_envp, [SK_RLIMIT] = fmt_rlimit, [SK_RLIMIT_OUT] = fmt_rlimit,
        [SK_STACK] = fmt_stack, [SK_STACK_OUT] = fmt_stack, [SK_CLONE_ARGS] = fmt_clone_args,
    };
    return kind < SK_COUNT ? formatters[kind] : NULL;
}
