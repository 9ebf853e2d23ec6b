/*
 * -strace: names of flags, commands and enumerations, one table per argument kind. The values come from
 * the host's headers: guest and host are both x86-64 Linux, so they are the guest's values too.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <asm/prctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "syscalls/strace-int.h"

#define N(x) { (uint64_t)(x), #x }
#define END { 0, NULL }

void strace_put_flags(StraceBuf *b, uint64_t v, const StraceName *names, const char *zero)
{
    if (v == 0) {
        strace_puts(b, zero ? zero : "0");
        return;
    }
    bool first = true;
    for (const StraceName *n = names; n->name; n++) {
        if (n->value && (v & n->value) == n->value) {
            strace_printf(b, first ? "%s" : "|%s", n->name);
            first = false;
            v &= ~n->value;
        }
    }
    if (v)
        strace_printf(b, first ? "%#" PRIx64 : "|%#" PRIx64, v);
}

void strace_put_enum(StraceBuf *b, uint64_t v, const StraceName *names)
{
    for (const StraceName *n = names; n->name; n++) {
        if (n->value == v) {
            strace_puts(b, n->name);
            return;
        }
    }
    strace_printf(b, "%" PRId64, (int64_t)v);
}

/* ---- signals ---- */

const char *strace_signal_name(int sig, char *buf)
{
    const char *abbrev = sig > 0 && sig < 32 ? sigabbrev_np(sig) : NULL;
    if (abbrev)
        snprintf(buf, 32, "SIG%s", abbrev);
    else if (sig == 32)
        snprintf(buf, 32, "SIGRTMIN");
    else if (sig > 32 && sig <= 64)
        snprintf(buf, 32, "SIGRT_%d", sig - 32);
    else
        snprintf(buf, 32, "%d", sig);
    return buf;
}

void strace_put_signal(StraceBuf *b, int sig)
{
    char buf[32];
    strace_puts(b, strace_signal_name(sig, buf));
}

void strace_put_sigset(StraceBuf *b, uint64_t set)
{
    bool invert = __builtin_popcountll(set) > 32;
    if (invert)
        set = ~set;
    strace_puts(b, invert ? "~[" : "[");
    bool first = true;
    for (int sig = 1; sig <= 64; sig++) {
        if (!(set & (1ULL << (sig - 1))))
            continue;
        char buf[32];
        const char *name = strace_signal_name(sig, buf);
        /* inside a set strace drops the SIG prefix */
        strace_printf(b, first ? "%s" : " %s", strncmp(name, "SIG", 3) == 0 ? name + 3 : name);
        first = false;
    }
    strace_puts(b, "]");
}

/* ---- modes ---- */

static const StraceName file_types[] = {
    N(S_IFREG), N(S_IFDIR), N(S_IFLNK), N(S_IFCHR), N(S_IFBLK), N(S_IFIFO), N(S_IFSOCK), END,
};

void strace_put_mode(StraceBuf *b, uint64_t mode, bool with_type)
{
    if (with_type) {
        for (const StraceName *n = file_types; n->name; n++) {
            if ((mode & S_IFMT) == n->value) {
                strace_printf(b, "%s|", n->name);
                mode &= ~(uint64_t)S_IFMT;
                break;
            }
        }
    }
    strace_printf(b, "%#03" PRIo64, mode);
}

/* ---- the tables ---- */

static const StraceName open_flags[] = {
    N(O_WRONLY), N(O_RDWR), N(O_CREAT), N(O_EXCL), N(O_NOCTTY), N(O_TRUNC), N(O_APPEND), N(O_NONBLOCK),
    N(O_SYNC), N(O_DSYNC), N(O_DIRECT), { 0100000, "O_LARGEFILE" }, N(O_TMPFILE), N(O_DIRECTORY),
    N(O_NOFOLLOW), N(O_NOATIME), N(O_CLOEXEC), N(O_PATH), N(FASYNC), END,
};
static const StraceName at_flags[] = {
    N(AT_SYMLINK_NOFOLLOW), N(AT_REMOVEDIR), N(AT_SYMLINK_FOLLOW), N(AT_NO_AUTOMOUNT), N(AT_EMPTY_PATH),
    N(AT_STATX_FORCE_SYNC), N(AT_STATX_DONT_SYNC), N(AT_RECURSIVE), END,
};
static const StraceName access_modes[] = { N(R_OK), N(W_OK), N(X_OK), END };
static const StraceName whences[] = { N(SEEK_SET), N(SEEK_CUR), N(SEEK_END), N(SEEK_DATA), N(SEEK_HOLE), END };
static const StraceName fcntl_cmds[] = {
    N(F_DUPFD), N(F_GETFD), N(F_SETFD), N(F_GETFL), N(F_SETFL), N(F_GETLK), N(F_SETLK), N(F_SETLKW),
    N(F_SETOWN), N(F_GETOWN), N(F_SETSIG), N(F_GETSIG), N(F_SETOWN_EX), N(F_GETOWN_EX), N(F_OFD_GETLK),
    N(F_OFD_SETLK), N(F_OFD_SETLKW), N(F_SETLEASE), N(F_GETLEASE), N(F_NOTIFY), N(F_DUPFD_CLOEXEC),
    N(F_SETPIPE_SZ), N(F_GETPIPE_SZ), N(F_ADD_SEALS), N(F_GET_SEALS), END,
};
static const StraceName ioctl_reqs[] = {
    N(TCGETS), N(TCSETS), N(TCSETSW), N(TCSETSF), N(TCGETA), N(TCSETA), N(TCSBRK), N(TCXONC), N(TCFLSH),
    N(TIOCSCTTY), N(TIOCGPGRP), N(TIOCSPGRP), N(TIOCOUTQ), N(TIOCGWINSZ), N(TIOCSWINSZ), N(FIONREAD),
    N(TIOCLINUX), N(FIONBIO), N(TIOCNOTTY), N(TIOCGPTN), N(TIOCSPTLCK), N(FIONCLEX), N(FIOCLEX), N(FIOASYNC),
    N(TIOCGSID), END,
};
static const StraceName prots[] = { N(PROT_READ), N(PROT_WRITE), N(PROT_EXEC), N(PROT_GROWSDOWN), N(PROT_GROWSUP), END };
static const StraceName mmap_flags[] = {
    N(MAP_SHARED_VALIDATE), N(MAP_SHARED), N(MAP_PRIVATE), N(MAP_FIXED), N(MAP_ANONYMOUS), N(MAP_32BIT),
    N(MAP_GROWSDOWN), N(MAP_DENYWRITE), N(MAP_EXECUTABLE), N(MAP_LOCKED), N(MAP_NORESERVE),
    N(MAP_POPULATE), N(MAP_NONBLOCK), N(MAP_STACK), N(MAP_HUGETLB), N(MAP_SYNC), N(MAP_FIXED_NOREPLACE), END,
};
static const StraceName mremap_flags[] = { N(MREMAP_MAYMOVE), N(MREMAP_FIXED), N(MREMAP_DONTUNMAP), END };
static const StraceName madvices[] = {
    N(MADV_NORMAL), N(MADV_RANDOM), N(MADV_SEQUENTIAL), N(MADV_WILLNEED), N(MADV_DONTNEED), N(MADV_FREE),
    N(MADV_REMOVE), N(MADV_DONTFORK), N(MADV_DOFORK), N(MADV_MERGEABLE), N(MADV_UNMERGEABLE),
    N(MADV_HUGEPAGE), N(MADV_NOHUGEPAGE), N(MADV_DONTDUMP), N(MADV_DODUMP), N(MADV_WIPEONFORK),
    N(MADV_KEEPONFORK), N(MADV_COLD), N(MADV_PAGEOUT), N(MADV_HWPOISON), END,
};
static const StraceName clone_flags[] = {
    N(CLONE_VM), N(CLONE_FS), N(CLONE_FILES), N(CLONE_SIGHAND), N(CLONE_PIDFD), N(CLONE_PTRACE),
    N(CLONE_VFORK), N(CLONE_PARENT), N(CLONE_THREAD), N(CLONE_NEWNS), N(CLONE_SYSVSEM), N(CLONE_SETTLS),
    N(CLONE_PARENT_SETTID), N(CLONE_CHILD_CLEARTID), N(CLONE_DETACHED), N(CLONE_UNTRACED),
    N(CLONE_CHILD_SETTID), N(CLONE_NEWCGROUP), N(CLONE_NEWUTS), N(CLONE_NEWIPC), N(CLONE_NEWUSER),
    N(CLONE_NEWPID), N(CLONE_NEWNET), N(CLONE_IO), END,
};
static const StraceName futex_cmds[] = {
    N(FUTEX_WAIT), N(FUTEX_WAKE), N(FUTEX_FD), N(FUTEX_REQUEUE), N(FUTEX_CMP_REQUEUE), N(FUTEX_WAKE_OP),
    N(FUTEX_LOCK_PI), N(FUTEX_UNLOCK_PI), N(FUTEX_TRYLOCK_PI), N(FUTEX_WAIT_BITSET), N(FUTEX_WAKE_BITSET),
    N(FUTEX_WAIT_REQUEUE_PI), N(FUTEX_CMP_REQUEUE_PI), N(FUTEX_LOCK_PI2), END,
};
static const StraceName clock_ids[] = {
    N(CLOCK_REALTIME), N(CLOCK_MONOTONIC), N(CLOCK_PROCESS_CPUTIME_ID), N(CLOCK_THREAD_CPUTIME_ID),
    N(CLOCK_MONOTONIC_RAW), N(CLOCK_REALTIME_COARSE), N(CLOCK_MONOTONIC_COARSE), N(CLOCK_BOOTTIME),
    N(CLOCK_REALTIME_ALARM), N(CLOCK_BOOTTIME_ALARM), N(CLOCK_TAI), END,
};
static const StraceName arch_prctls[] = {
    N(ARCH_SET_GS), N(ARCH_SET_FS), N(ARCH_GET_FS), N(ARCH_GET_GS), N(ARCH_GET_CPUID), N(ARCH_SET_CPUID),
    { 0x3001, "ARCH_CET_STATUS" }, END,
};
static const StraceName prctl_ops[] = {
    N(PR_SET_PDEATHSIG), N(PR_GET_PDEATHSIG), N(PR_GET_DUMPABLE), N(PR_SET_DUMPABLE), N(PR_SET_NAME),
    N(PR_GET_NAME), N(PR_GET_SECCOMP), N(PR_SET_SECCOMP), N(PR_CAPBSET_READ), N(PR_CAPBSET_DROP),
    N(PR_SET_MM), N(PR_SET_CHILD_SUBREAPER), N(PR_GET_CHILD_SUBREAPER), N(PR_SET_NO_NEW_PRIVS),
    N(PR_GET_NO_NEW_PRIVS), N(PR_SET_THP_DISABLE), N(PR_GET_THP_DISABLE), N(PR_CAP_AMBIENT),
    N(PR_SET_PTRACER), N(PR_SET_TIMERSLACK), N(PR_GET_TIMERSLACK), N(PR_SET_VMA), END,
};
static const StraceName rlimits[] = {
    N(RLIMIT_CPU), N(RLIMIT_FSIZE), N(RLIMIT_DATA), N(RLIMIT_STACK), N(RLIMIT_CORE), N(RLIMIT_RSS),
    N(RLIMIT_NPROC), N(RLIMIT_NOFILE), N(RLIMIT_MEMLOCK), N(RLIMIT_AS), N(RLIMIT_LOCKS),
    N(RLIMIT_SIGPENDING), N(RLIMIT_MSGQUEUE), N(RLIMIT_NICE), N(RLIMIT_RTPRIO), N(RLIMIT_RTTIME), END,
};
static const StraceName wait_options[] = {
    N(WNOHANG), N(WUNTRACED), N(WEXITED), N(WCONTINUED), N(WNOWAIT), N(__WNOTHREAD), N(__WALL), N(__WCLONE), END,
};
static const StraceName grnd_flags[] = { N(GRND_NONBLOCK), N(GRND_RANDOM), N(GRND_INSECURE), END };
static const StraceName sock_domains[] = {
    N(AF_UNSPEC), N(AF_UNIX), N(AF_INET), N(AF_INET6), N(AF_NETLINK), N(AF_PACKET), N(AF_ALG), N(AF_VSOCK), END,
};
static const StraceName sock_types[] = {
    N(SOCK_STREAM), N(SOCK_DGRAM), N(SOCK_RAW), N(SOCK_RDM), N(SOCK_SEQPACKET), N(SOCK_DCCP), N(SOCK_PACKET), END,
};
static const StraceName ip_protocols[] = {
    N(IPPROTO_IP), N(IPPROTO_ICMP), N(IPPROTO_TCP), N(IPPROTO_UDP), N(IPPROTO_IPV6), N(IPPROTO_ICMPV6),
    N(IPPROTO_SCTP), N(IPPROTO_RAW), END,
};
static const StraceName sock_type_flags[] = { N(SOCK_NONBLOCK), N(SOCK_CLOEXEC), END };
static const StraceName msg_flags[] = {
    N(MSG_OOB), N(MSG_PEEK), N(MSG_DONTROUTE), N(MSG_CTRUNC), N(MSG_PROXY), N(MSG_TRUNC), N(MSG_DONTWAIT),
    N(MSG_EOR), N(MSG_WAITALL), N(MSG_FIN), N(MSG_SYN), N(MSG_CONFIRM), N(MSG_RST), N(MSG_ERRQUEUE),
    N(MSG_NOSIGNAL), N(MSG_MORE), N(MSG_WAITFORONE), N(MSG_FASTOPEN), N(MSG_CMSG_CLOEXEC), END,
};
static const StraceName sigmask_hows[] = { N(SIG_BLOCK), N(SIG_UNBLOCK), N(SIG_SETMASK), END };

/* ---- formatters ---- */

#define ARG(c, i) ((uint64_t)(c)->args[i])

/* A kind that is only a table: flags or an enumeration. */
static const struct {
    const StraceName *names;
    bool flags;
    const char *zero;
} plain[SK_COUNT] = {
    [SK_AT_FLAGS] = { at_flags, true, "0" },
    [SK_WHENCE] = { whences, false, NULL },
    [SK_IOCTL_REQ] = { ioctl_reqs, false, NULL },
    [SK_PROT] = { prots, true, "PROT_NONE" },
    [SK_MMAP_FLAGS] = { mmap_flags, true, "0" },
    [SK_MREMAP_FLAGS] = { mremap_flags, true, "0" },
    [SK_MADVISE] = { madvices, false, NULL },
    [SK_CLOCKID] = { clock_ids, false, NULL },
    [SK_ARCH_PRCTL] = { arch_prctls, false, NULL },
    [SK_PRCTL_OP] = { prctl_ops, false, NULL },
    [SK_RLIMIT_RES] = { rlimits, false, NULL },
    [SK_WAIT_OPTIONS] = { wait_options, true, "0" },
    [SK_GRND_FLAGS] = { grnd_flags, true, "0" },
    [SK_SOCK_DOMAIN] = { sock_domains, false, NULL },
    [SK_MSG_FLAGS] = { msg_flags, true, "0" },
    [SK_SIGMASK_HOW] = { sigmask_hows, false, NULL },
};

static void fmt_plain(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    SyscallKind kind = c->kind[i];
    uint64_t v = ARG(c, i);
    if (kind == SK_IOCTL_REQ || kind == SK_MADVISE || kind == SK_CLOCKID || kind == SK_RLIMIT_RES ||
        kind == SK_SOCK_DOMAIN || kind == SK_SIGMASK_HOW || kind == SK_WHENCE)
        v = (uint32_t)v;                 /* int or unsigned int in the kernel's prototype */
    if (plain[kind].flags)
        strace_put_flags(b, v, plain[kind].names, plain[kind].zero);
    else
        strace_put_enum(b, v, plain[kind].names);
}

/* The access mode is a two-bit number, not a flag: O_RDONLY is 0 and always printed. */
static void put_open_flags(StraceBuf *b, uint64_t v, bool with_access)
{
    static const char *const access[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
    if (with_access) {
        strace_puts(b, access[v & O_ACCMODE]);
        v &= ~(uint64_t)O_ACCMODE;
        if (v) {
            strace_puts(b, "|");
            strace_put_flags(b, v, open_flags, NULL);
        }
    } else {
        strace_put_flags(b, v, open_flags, "0");
    }
}

static void fmt_open_flags(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    uint64_t v = (uint32_t)ARG(c, i);
    put_open_flags(b, v, true);
    /* the mode means something only when a file may be created */
    if (i + 1 < 6 && c->kind[i + 1] == SK_MODE && !(v & (O_CREAT | __O_TMPFILE)) && c->shown == i + 2)
        c->shown = i + 1;
}

static void fmt_o_flags(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    put_open_flags(b, (uint32_t)ARG(c, i), false);
}

static void fmt_mode(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_put_mode(b, (uint32_t)ARG(c, i), false);
}

static void fmt_access(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_put_flags(b, (uint32_t)ARG(c, i), access_modes, "F_OK");
}

static void fmt_signal(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    strace_put_signal(b, (int)ARG(c, i));
}

/* The exit signal lives in the low byte of clone's flags. */
static void fmt_clone_flags(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    uint64_t v = ARG(c, i), sig = v & CSIGNAL;
    v &= ~(uint64_t)CSIGNAL;
    if (v)
        strace_put_flags(b, v, clone_flags, NULL);
    if (sig) {
        if (v)
            strace_puts(b, "|");
        strace_put_signal(b, (int)sig);
    } else if (!v) {
        strace_puts(b, "0");
    }
}

static void fmt_sock_type(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    uint64_t v = (uint32_t)ARG(c, i), type = v & 0xf;
    v &= ~(uint64_t)0xf;
    if (type)
        strace_put_enum(b, type, sock_types);
    if (v) {
        if (type)
            strace_puts(b, "|");
        strace_put_flags(b, v, sock_type_flags, NULL);
    } else if (!type) {
        strace_puts(b, "0");
    }
}

/* The protocol numbers of AF_INET and AF_INET6 have names; other families' are plain numbers. */
static void fmt_sock_proto(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    int domain = (int)c->args[0];
    if (domain == AF_INET || domain == AF_INET6)
        strace_put_enum(b, (uint32_t)ARG(c, i), ip_protocols);
    else
        strace_printf(b, "%d", (int)c->args[i]);
}

/* FUTEX_WAIT_PRIVATE and friends; the arguments an operation ignores are not shown. */
static void fmt_futex_op(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    static const uint8_t shown[] = {
        [FUTEX_WAIT] = 4, [FUTEX_WAKE] = 3, [FUTEX_FD] = 3, [FUTEX_REQUEUE] = 5, [FUTEX_CMP_REQUEUE] = 6,
        [FUTEX_WAKE_OP] = 6, [FUTEX_LOCK_PI] = 4, [FUTEX_UNLOCK_PI] = 2, [FUTEX_TRYLOCK_PI] = 2,
        [FUTEX_WAIT_BITSET] = 6, [FUTEX_WAKE_BITSET] = 6, [FUTEX_WAIT_REQUEUE_PI] = 5,
        [FUTEX_CMP_REQUEUE_PI] = 6, [FUTEX_LOCK_PI2] = 4,
    };
    uint32_t op = (uint32_t)ARG(c, i), cmd = op & FUTEX_CMD_MASK;
    strace_put_enum(b, cmd, futex_cmds);
    if (op & FUTEX_PRIVATE_FLAG)
        strace_puts(b, "_PRIVATE");
    if (op & FUTEX_CLOCK_REALTIME)
        strace_puts(b, "|FUTEX_CLOCK_REALTIME");
    if (i != 1)
        return;
    if (cmd < sizeof shown && shown[cmd])
        c->shown = shown[cmd];
    /* the fourth argument is a timeout for the waits, a count for the requeues */
    if (cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2 ||
        cmd == FUTEX_WAIT_REQUEUE_PI)
        c->kind[3] = SK_TIMESPEC;
    else if (cmd == FUTEX_REQUEUE || cmd == FUTEX_CMP_REQUEUE || cmd == FUTEX_CMP_REQUEUE_PI || cmd == FUTEX_WAKE_OP)
        c->kind[3] = SK_UINT;
}

/* F_GETFD and the other getters take no argument; F_SETFL's is open flags, the lock commands' a pointer. */
static void fmt_fcntl_cmd(StraceBuf *b, StraceCall *c, int i, long ret)
{
    (void)ret;
    int cmd = (int)ARG(c, i);
    strace_put_enum(b, (uint64_t)(int64_t)cmd, fcntl_cmds);
    if (i + 1 >= 6)
        return;
    switch (cmd) {
    case F_GETFD: case F_GETFL: case F_GETOWN: case F_GETSIG: case F_GETLEASE: case F_GETPIPE_SZ:
    case F_GET_SEALS:
        c->shown = i + 1;
        break;
    case F_SETFL:
        c->kind[i + 1] = SK_OPEN_FLAGS;
        break;
    case F_DUPFD: case F_DUPFD_CLOEXEC: case F_SETFD: case F_SETOWN: case F_SETPIPE_SZ:
        c->kind[i + 1] = SK_INT;
        break;
    case F_SETSIG:
        c->kind[i + 1] = SK_SIG;
        break;
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
    case F_GETOWN_EX: case F_SETOWN_EX:
        c->kind[i + 1] = SK_PTR;
        break;
    }
}

StraceFormatter strace_flag_formatter(SyscallKind kind)
{
    static const StraceFormatter special[SK_COUNT] = {
        [SK_OPEN_FLAGS] = fmt_open_flags, [SK_O_FLAGS] = fmt_o_flags, [SK_MODE] = fmt_mode,
        [SK_ACCESS_MODE] = fmt_access, [SK_SIG] = fmt_signal, [SK_CLONE_FLAGS] = fmt_clone_flags,
        [SK_SOCK_TYPE] = fmt_sock_type, [SK_SOCK_PROTO] = fmt_sock_proto, [SK_FUTEX_OP] = fmt_futex_op, [SK_FCNTL_CMD] = fmt_fcntl_cmd,
    };
    if (kind >= SK_COUNT)
        return NULL;
    if (special[kind])
        return special[kind];
    return plain[kind].names ? fmt_plain : NULL;
}
