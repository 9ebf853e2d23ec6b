/*
 * Syscall dispatch for user mode: a registered handler, else the host (PASS), else -ENOSYS; -strace
 * around it. The table itself (numbers, names, kinds) and the printer live in syscalls/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/tcg/tb.h"
#include "syscalls/strace.h"
#include "syscalls/syscalls.h"
#include "user/linux/guest-mem.h"
#include "user/linux/sys-families.h"
#include "user/linux/syscall.h"

/* Written once at start-up (before any guest thread), read by every thread after. */
static LinuxSyscallFn linux_handlers[SYSCALL_NR_LIMIT];
static int linux_strace_fd = -1;
static bool linux_strace_fd_ours;           /* our duplicate: closed when tracing stops */

void linux_syscall_register(int nr, LinuxSyscallFn fn)
{
    if (nr >= 0 && nr < SYSCALL_NR_LIMIT)
        linux_handlers[nr] = fn;
}

LinuxSyscallFn linux_syscall_handler(int nr)
{
    return nr >= 0 && nr < SYSCALL_NR_LIMIT ? linux_handlers[nr] : NULL;
}

void linux_syscalls_init(void)
{
    linux_sys_files_register();
    linux_sys_mem_register();
    linux_sys_signal_register();
    linux_sys_thread_register();
    linux_sys_proc_register();
}

/* -strace keeps a copy of its fd far above the guest's usual ones (LINUX_HOST_FD_MIN): a guest that closes
   or redirects its stderr (`echo` closes fd 2 before exiting) must not silence or redirect the trace. */
void linux_strace_enable(int fd)
{
    int old = __atomic_exchange_n(&linux_strace_fd, -1, __ATOMIC_RELAXED);
    if (old >= 0 && linux_strace_fd_ours)
        close(old);
    if (fd < 0)
        return;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, LINUX_HOST_FD_MIN);
    linux_strace_fd_ours = copy >= 0;
    __atomic_store_n(&linux_strace_fd, copy >= 0 ? copy : fd, __ATOMIC_RELAXED);
}

bool linux_strace_enabled(void)
{
    return __atomic_load_n(&linux_strace_fd, __ATOMIC_RELAXED) >= 0;
}

/* One write per line, so the lines of different threads do not mix. */
static void strace_write(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

void linux_strace_log(const char *fmt, ...)
{
    int fd = __atomic_load_n(&linux_strace_fd, __ATOMIC_RELAXED);
    if (fd < 0)
        return;
    char line[512];
    int len = snprintf(line, sizeof line, "%d ", getpid());
    va_list ap;
    va_start(ap, fmt);
    int more = vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
    va_end(ap);
    len = len + more < (int)sizeof line ? len + more : (int)sizeof line - 1;
    strace_write(fd, line, (size_t)len);
}

/* A buffer the kernel could not write may be a page we write-protected because it holds translated
   code, or shows the same memory as such a page: drop that code (which makes the page writable again)
   and let the caller retry. */
#define UNPROTECT_PAGES_MAX 65536

static bool unprotect_code_pages(const SyscallInfo *info, const long args[6])
{
    SyscallRange ranges[24];
    int n = syscall_pointer_ranges(info, args, ranges, 24);
    bool released = false;
    for (int r = 0; r < n; r++) {
        uint64_t first = ranges[r].addr & TB_PAGE_MASK;
        uint64_t last = (ranges[r].addr + ranges[r].len - 1) & TB_PAGE_MASK;
        if (last < first)                        /* wrapped: a bogus length */
            last = first;
        for (uint64_t page = first, k = 0; page <= last && k < UNPROTECT_PAGES_MAX; page += TB_PAGE_SIZE, k++)
            if ((tb_page_has_code(page) && tb_invalidate_page(page)) || guest_mem_release_alias(page))
                released = true;
    }
    return released;
}

long linux_syscall_pass(long nr, const long args[6])
{
    long ret = syscall_host(nr, args);
    const SyscallInfo *info;
    if (ret == -EFAULT && (info = syscall_info(nr)) && unprotect_code_pages(info, args))
        ret = syscall_host(nr, args);
    return ret;
}

static long linux_run_syscall(CPUX86State *env, long nr, const long args[6])
{
    if (nr >= 0 && nr < SYSCALL_NR_LIMIT && linux_handlers[nr])
        return linux_handlers[nr](env, args);
    const SyscallInfo *info = syscall_info(nr);
    if (info && info->mode == SYSCALL_PASS)
        return linux_syscall_pass(nr, args);
    if (!info && syscall_unknown_first(nr)) {
        int fd = __atomic_load_n(&linux_strace_fd, __ATOMIC_RELAXED);
        char line[64];
        int len = snprintf(line, sizeof line, "Unknown syscall %ld\n", nr);
        strace_write(fd >= 0 ? fd : 2, line, (size_t)len);
    }
    return -ENOSYS;
}

/*
 * How a call is traced: most print one line when they return. exit and exit_group never return: their
 * line, with "= ?", comes first. execve does not return when it succeeds (the new program is traced by
 * the ember that replaces us), so like strace it prints "<unfinished ...>" first and, if it fails,
 * "<... execve resumed>" with the error.
 */
typedef enum { TRACE_AFTER, TRACE_NORETURN, TRACE_EXEC } LinuxTraceStyle;

static LinuxTraceStyle linux_trace_style(long nr)
{
    if (nr == SYS_exit || nr == SYS_exit_group)
        return TRACE_NORETURN;
    if (nr == SYS_execve || nr == SYS_execveat)
        return TRACE_EXEC;
    return TRACE_AFTER;
}

static __attribute__((noinline)) long linux_traced_syscall(CPUX86State *env, int fd, long nr, const long args[6])
{
    StraceCall call;
    char line[STRACE_LINE_MAX];
    LinuxTraceStyle style = linux_trace_style(nr);
    strace_enter(&call, nr, args);
    if (style == TRACE_NORETURN)
        strace_write(fd, line, strace_exit(&call, getpid(), STRACE_NO_RETURN, line, sizeof line));
    else if (style == TRACE_EXEC)
        strace_write(fd, line, strace_unfinished(&call, getpid(), line, sizeof line));
    long ret = linux_run_syscall(env, nr, args);
    long shown = ret == LINUX_SYSCALL_REGS_SET ? (long)env->regs[R_EAX] : ret;
    if (style == TRACE_AFTER)
        strace_write(fd, line, strace_exit(&call, getpid(), shown, line, sizeof line));
    else if (style == TRACE_EXEC)
        strace_write(fd, line, strace_resumed(&call, getpid(), shown, line, sizeof line));
    return ret;
}

void linux_do_syscall(CPUX86State *env)
{
    long nr = (long)env->regs[R_EAX];
    const long args[6] = {
        (long)env->regs[R_EDI], (long)env->regs[R_ESI], (long)env->regs[R_EDX],
        (long)env->regs[R_R10], (long)env->regs[R_R8], (long)env->regs[R_R9],
    };
    int fd = __atomic_load_n(&linux_strace_fd, __ATOMIC_RELAXED);
    long ret = fd >= 0 ? linux_traced_syscall(env, fd, nr, args) : linux_run_syscall(env, nr, args);
    if (ret != LINUX_SYSCALL_REGS_SET)
        env->regs[R_EAX] = (uint64_t)ret;
}
