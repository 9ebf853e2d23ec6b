/* The signal system calls: the guest's actions, masks, alternate stacks and sigreturn. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <unistd.h>

#include "user/linux/sys-families.h"
#include "user/linux/syscall.h"
#include "user/linux/thread.h"

#define GUEST_MINSIGSTKSZ 2048

static LinuxThread *self(CPUX86State *env)
{
    return (LinuxThread *)env;
}

static long sys_rt_sigaction(CPUX86State *env, const long a[6])
{
    (void)env;
    if (a[3] != 8) {
        return -EINVAL;
    }
    GuestSigaction act, old;
    if (a[1]) {
        memcpy(&act, (const void *)a[1], sizeof(act));
    }
    long r = linux_signal_action((int)a[0], a[1] ? &act : NULL, &old);
    if (r == 0 && a[2]) {
        memcpy((void *)a[2], &old, sizeof(old));
    }
    return r;
}

static long sys_rt_sigprocmask(CPUX86State *env, const long a[6])
{
    LinuxThread *t = self(env);
    if (a[3] != 8) {
        return -EINVAL;
    }
    uint64_t old = t->sigmask;
    if (a[1]) {
        uint64_t set;
        memcpy(&set, (const void *)a[1], 8);
        switch (a[0]) {
        case SIG_BLOCK:
            linux_signal_set_mask(t, old | set);
            break;
        case SIG_UNBLOCK:
            linux_signal_set_mask(t, old & ~set);
            break;
        case SIG_SETMASK:
            linux_signal_set_mask(t, set);
            break;
        default:
            return -EINVAL;
        }
    }
    if (a[2]) {
        memcpy((void *)a[2], &old, 8);
    }
    return 0;
}

static long sys_rt_sigpending(CPUX86State *env, const long a[6])
{
    LinuxThread *t = self(env);
    /* Ours (taken but blocked since) plus what the host kernel still holds for us. */
    uint64_t host = 0;
    long r = syscall(SYS_rt_sigpending, &host, 8);
    if (r < 0) {
        return -errno;
    }
    uint64_t set = (t->pending | host) & t->sigmask;
    memcpy((void *)a[0], &set, 8);
    (void)a;
    return 0;
}

static long sys_rt_sigsuspend(CPUX86State *env, const long a[6])
{
    LinuxThread *t = self(env);
    if (a[1] != 8) {
        return -EINVAL;
    }
    uint64_t mask;
    memcpy(&mask, (const void *)a[0], 8);
    uint64_t saved = t->sigmask;
    linux_signal_set_mask(t, mask);
    /* Wait on the host with the same mask; our handler queues the signal and the wait ends. */
    sigset_t host;
    pthread_sigmask(SIG_SETMASK, NULL, &host);
    while (!(t->pending & ~t->sigmask)) {
        sigsuspend(&host);
    }
    /* The loop delivers the signal after this returns -EINTR, with the suspend mask still in force; the
       handler's sigreturn then restores the mask from before the call. */
    t->has_saved_mask = true;
    t->saved_mask = saved;
    return -EINTR;
}

/* sigwaitinfo / sigtimedwait: first what our handler already took, then the host's wait. */
static long sys_rt_sigtimedwait(CPUX86State *env, const long a[6])
{
    LinuxThread *t = self(env);
    if (a[3] != 8) {
        return -EINVAL;
    }
    uint64_t set;
    memcpy(&set, (const void *)a[0], 8);
    set &= ~((1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1)));
    for (;;) {
        siginfo_t info;
        int sig = linux_signal_dequeue(t, set, &info);
        if (sig) {
            if (a[1]) {
                memcpy((void *)a[1], &info, sizeof(info));
            }
            return sig;
        }
        long r = syscall(SYS_rt_sigtimedwait, &set, a[1], a[2], 8);
        if (r >= 0 || errno != EINTR) {
            return r < 0 ? -errno : r;
        }
        if (t->pending & ~t->sigmask & ~set) {
            return -EINTR;   /* another signal came: its handler runs first */
        }
    }
}

static long sys_sigaltstack(CPUX86State *env, const long a[6])
{
    LinuxThread *t = self(env);
    stack_t old = t->altstack;
    bool on = t->altstack.ss_size &&
              env->regs[R_ESP] - (uint64_t)(uintptr_t)t->altstack.ss_sp < t->altstack.ss_size;
    if (a[0]) {
        stack_t ss;
        memcpy(&ss, (const void *)a[0], sizeof(ss));
        if (on) {
            return -EPERM;
        }
        if (ss.ss_flags & ~(SS_DISABLE | (1 << 31) /* SS_AUTODISARM */)) {
            return -EINVAL;
        }
        if (ss.ss_flags & SS_DISABLE) {
            memset(&t->altstack, 0, sizeof(t->altstack));
            t->altstack.ss_flags = SS_DISABLE;
        } else {
            if (ss.ss_size < GUEST_MINSIGSTKSZ) {
                return -ENOMEM;
            }
            t->altstack = ss;
        }
    }
    if (a[1]) {
        old.ss_flags = on ? SS_ONSTACK : (old.ss_size ? old.ss_flags : SS_DISABLE);
        memcpy((void *)a[1], &old, sizeof(old));
    }
    return 0;
}

static long sys_rt_sigreturn(CPUX86State *env, const long a[6])
{
    (void)a;
    return linux_signal_frame_return(self(env));
}

void linux_sys_signal_register(void)
{
    linux_syscall_register(SYS_rt_sigaction, sys_rt_sigaction);
    linux_syscall_register(SYS_rt_sigprocmask, sys_rt_sigprocmask);
    linux_syscall_register(SYS_rt_sigpending, sys_rt_sigpending);
    linux_syscall_register(SYS_rt_sigsuspend, sys_rt_sigsuspend);
    linux_syscall_register(SYS_sigaltstack, sys_sigaltstack);
    linux_syscall_register(SYS_rt_sigtimedwait, sys_rt_sigtimedwait);
    linux_syscall_register(SYS_rt_sigreturn, sys_rt_sigreturn);
}
