/*
 * Guest signals. The guest's dispositions are recorded here and mirrored on the host: SIG_DFL and SIG_IGN
 * are set on the host as they are (so the kernel terminates, stops, ignores and reaps exactly as it would
 * natively), and a guest handler becomes our host handler, which queues the signal for the thread and asks
 * its CPU to stop at the next block boundary. Faults inside guest code (SIGSEGV, SIGBUS, SIGILL, SIGFPE)
 * always reach our fault handler: a write to a page holding translated code is self-modifying code, any
 * other fault is the guest's, unwound to the CPU loop and delivered as the signal Linux would send.
 */
#define _GNU_SOURCE   /* REG_ERR in ucontext_t */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/target-x86/fault.h"
#include "user/linux/gdbstub.h"
#include "user/linux/guest-mem.h"
#include "user/linux/thread.h"

/* The kernel's first real-time signal (glibc keeps 32 and 33 for itself and calls 34 SIGRTMIN). */
#define SIGRTMIN_KERNEL 32

#define GUEST_SIG_DFL 0
#define GUEST_SIG_IGN 1
#define GUEST_SA_RESTORER 0x04000000ULL

static GuestSigaction guest_actions[LINUX_NSIG];
static pthread_mutex_t guest_actions_lock = PTHREAD_MUTEX_INITIALIZER;

static bool signal_is_fault(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

static uint64_t sig_bit(int sig)
{
    return 1ULL << (sig - 1);
}

/* Signals whose default action is to ignore them. */
static bool signal_default_ignores(int sig)
{
    return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

void linux_die_by_signal(int sig)
{
    linux_gdb_killed(sig);   /* gdb hears of it (X) before the process is gone */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(sig, &dfl, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), sig);
    /* Still alive: the default action does not terminate (or the signal cannot be raised). */
    _exit(128 + sig);
}

/* The queue is touched by the host handler on this same thread: other code edits it with signals held. */
static void queue_lock(sigset_t *saved)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, saved);
}

static void queue_unlock(const sigset_t *saved)
{
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}

void linux_signal_queue(LinuxThread *t, const siginfo_t *info)
{
    int sig = info->si_signo;
    if (sig < 1 || sig >= LINUX_NSIG) {
        return;
    }
    /* Standard signals do not queue: a second one while the first is pending is lost, as in Linux. */
    bool coalesce = sig < SIGRTMIN_KERNEL && (t->pending & sig_bit(sig));
    if (!coalesce && t->queued < LINUX_SIGQUEUE_MAX) {
        t->queue[t->queued++] = *info;
    }
    __atomic_or_fetch(&t->pending, sig_bit(sig), __ATOMIC_SEQ_CST);
    tcg_cpu_request_exit(&t->env.tcg);
}

int linux_signal_dequeue(LinuxThread *t, uint64_t set, siginfo_t *info)
{
    sigset_t saved;
    queue_lock(&saved);
    uint64_t ready = t->pending & set;
    int sig = ready ? __builtin_ctzll(ready) + 1 : 0;
    if (sig) {
        unsigned i, left = 0;
        for (i = 0; i < t->queued && t->queue[i].si_signo != sig; i++) {
        }
        if (i < t->queued) {
            *info = t->queue[i];
            memmove(&t->queue[i], &t->queue[i + 1], (t->queued - i - 1) * sizeof(siginfo_t));
            t->queued--;
        } else {
            memset(info, 0, sizeof(*info));
            info->si_signo = sig;
        }
        for (i = 0; i < t->queued; i++) {
            left += t->queue[i].si_signo == sig;
        }
        if (!left) {
            __atomic_and_fetch(&t->pending, ~sig_bit(sig), __ATOMIC_SEQ_CST);
        }
    }
    queue_unlock(&saved);
    return sig;
}

/* A signal the guest handles arrived on this host thread. */
static void host_async_handler(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    (void)sig;
    LinuxThread *t = linux_thread_self();
    if (t) {
        linux_signal_queue(t, info);
    }
}

/* A fault on a host thread. */
static void host_fault_handler(int sig, siginfo_t *info, void *uc_)
{
    ucontext_t *uc = uc_;
    TCGCPU *cpu = tcg_current_cpu;
    uint64_t addr = (uint64_t)(uintptr_t)info->si_addr;

    if (!cpu) {
        /*
         * Not inside guest code. A signal the guest sent itself (kill, raise) arrives here too: queue it.
         * A real fault of the emulator: let it take its default action, with a core, where it happened.
         */
        LinuxThread *t = linux_thread_self();
        if (info->si_code <= 0 && t) {
            linux_signal_queue(t, info);
            return;
        }
        signal(sig, SIG_DFL);
        return;
    }
    if (info->si_code <= 0) {
        /* Sent by a process, not a fault: an ordinary asynchronous signal. */
        linux_signal_queue((LinuxThread *)cpu, info);
        return;
    }
    CPUX86State *env = x86_env(cpu);
    /* Generated code may keep guest registers in host registers across an access: make the state exact. */
    tcg_cpu_restore_from_signal(cpu, uc);
    bool write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
    if (sig == SIGSEGV && write && guest_mem_handle_write_fault(addr)) {
        /* Self-modifying code: its blocks are gone; run the writing instruction again, on its own. */
        cpu->pc = cpu->insn_pc;
        cpu->next_block_uncached = true;
        tcg_cpu_loop_exit(cpu, TCG_EXIT_NONE);
    }
    env->fault_addr = addr;
    env->error_code = info->si_code;
    if ((sig == SIGSEGV || sig == SIGBUS) && info->si_code == SI_KERNEL) {
        /* A host #GP (or #SS) of the guest's access, e.g. a non-canonical address: the guest's CPU raises
           #SS when the address goes through the stack segment (RSP/RBP base), else #GP. */
        env->exception = x86_gp_fault_vector(env);
        env->error_code = 0;
        env->fault_addr = 0;
        cpu->pc = cpu->insn_pc;
        tcg_cpu_loop_exit(cpu, TCG_EXIT_EXCEPTION);
    }
    switch (sig) {
    case SIGSEGV:
        env->exception = EXCP_PF;
        env->error_code = (info->si_code == SEGV_ACCERR ? 1 : 0) | (write ? 2 : 0) | 4;
        break;
    case SIGBUS:
        env->exception = EXCP_AC;   /* delivered as SIGBUS with the host's si_code */
        env->error_code = info->si_code;
        break;
    case SIGFPE:
        env->exception = EXCP_DE;
        break;
    case SIGILL:
        env->exception = EXCP_UD;
        break;
    default:
        env->exception = EXCP_BP;
        break;
    }
    cpu->pc = cpu->insn_pc;
    tcg_cpu_loop_exit(cpu, TCG_EXIT_EXCEPTION);
}

static void host_install(int sig, void (*handler)(int, siginfo_t *, void *), int extra_flags)
{
    struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO | extra_flags};
    sigfillset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

void linux_signals_init(void)
{
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        host_install(faults[i], host_fault_handler, SA_NODEFER);
    }
    /* Every other disposition starts as the host's (inherited across execve, like the kernel does). */
    for (int sig = 1; sig < LINUX_NSIG; sig++) {
        struct sigaction old;
        if (signal_is_fault(sig) || sigaction(sig, NULL, &old) != 0) {
            continue;
        }
        guest_actions[sig].handler = old.sa_handler == SIG_IGN ? GUEST_SIG_IGN : GUEST_SIG_DFL;
    }
}

/* rt_sigaction's core: record the guest's action and mirror it on the host. */
long linux_signal_action(int sig, const GuestSigaction *act, GuestSigaction *old)
{
    if (sig < 1 || sig >= LINUX_NSIG || ((sig == SIGKILL || sig == SIGSTOP) && act)) {
        return -EINVAL;
    }
    pthread_mutex_lock(&guest_actions_lock);
    if (old) {
        *old = guest_actions[sig];
    }
    if (act) {
        guest_actions[sig] = *act;
        if (!signal_is_fault(sig)) {
            struct sigaction sa = {0};
            if (act->handler == GUEST_SIG_DFL || act->handler == GUEST_SIG_IGN) {
                sa.sa_handler = act->handler == GUEST_SIG_DFL ? SIG_DFL : SIG_IGN;
                /* SA_NOCLDSTOP / SA_NOCLDWAIT change what the kernel does for SIGCHLD: keep them. */
                sa.sa_flags = (int)(act->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT));
                sigaction(sig, &sa, NULL);
            } else {
                host_install(sig, host_async_handler, (int)(act->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT)));
            }
        }
    }
    pthread_mutex_unlock(&guest_actions_lock);
    return 0;
}

void linux_signal_set_mask(LinuxThread *t, uint64_t mask)
{
    mask &= ~(sig_bit(SIGKILL) | sig_bit(SIGSTOP));
    t->sigmask = mask;
    /* Mirror on the host, but never block the faults we must see. */
    sigset_t host;
    sigemptyset(&host);
    for (int sig = 1; sig < LINUX_NSIG; sig++) {
        if ((mask & sig_bit(sig)) && !signal_is_fault(sig)) {
            sigaddset(&host, sig);
        }
    }
    pthread_sigmask(SIG_SETMASK, &host, NULL);
    if (t->pending & ~mask) {
        tcg_cpu_request_exit(&t->env.tcg);
    }
}

bool linux_signal_should_restart(LinuxThread *t)
{
    uint64_t ready = t->pending & ~t->sigmask;
    for (int sig = 1; sig < LINUX_NSIG; sig++) {
        if (ready & sig_bit(sig)) {
            const GuestSigaction *a = &guest_actions[sig];
            if (a->handler > GUEST_SIG_IGN && !(a->flags & SA_RESTART)) {
                return false;
            }
        }
    }
    return true;
}

static void signal_deliver_one(LinuxThread *t, int sig, const siginfo_t *info, bool forced)
{
    pthread_mutex_lock(&guest_actions_lock);
    GuestSigaction a = guest_actions[sig];
    if (a.handler > GUEST_SIG_IGN && (a.flags & SA_RESETHAND)) {
        guest_actions[sig].handler = GUEST_SIG_DFL;
    }
    pthread_mutex_unlock(&guest_actions_lock);

    if (forced && (a.handler <= GUEST_SIG_IGN || (t->sigmask & sig_bit(sig)))) {
        /* A fault the guest cannot handle now: the kernel kills the process with it. */
        linux_die_by_signal(sig);
    }
    if (a.handler == GUEST_SIG_IGN) {
        return;
    }
    if (a.handler == GUEST_SIG_DFL) {
        if (!signal_default_ignores(sig)) {
            linux_die_by_signal(sig);
        }
        return;
    }
    uint64_t handler_mask = t->sigmask | a.mask;
    if (!(a.flags & SA_NODEFER)) {
        handler_mask |= sig_bit(sig);
    }
    uint64_t return_mask = t->has_saved_mask ? t->saved_mask : t->sigmask;
    t->has_saved_mask = false;
    if (!linux_signal_frame_setup(t, sig, info, a.handler, a.flags, a.restorer, return_mask)) {
        /* The frame could not be written (bad stack): Linux then forces SIGSEGV. */
        linux_die_by_signal(SIGSEGV);
    }
    linux_signal_set_mask(t, handler_mask);
}

static void signal_deliver_ready(LinuxThread *t)
{
    for (;;) {
        if (!(__atomic_load_n(&t->pending, __ATOMIC_SEQ_CST) & ~t->sigmask)) {
            return;
        }
        siginfo_t info;
        int sig = linux_signal_dequeue(t, ~t->sigmask, &info);
        if (sig) {
            signal_deliver_one(t, sig, &info, false);
        }
    }
}

void linux_signal_deliver_pending(LinuxThread *t)
{
    signal_deliver_ready(t);
    if (t->has_saved_mask) {
        /* sigsuspend ended without a handler taking its mask: put the old one back now. */
        t->has_saved_mask = false;
        linux_signal_set_mask(t, t->saved_mask);
    }
}

void linux_signal_from_exception(LinuxThread *t)
{
    CPUX86State *env = &t->env;
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    switch (env->exception) {
    case EXCP_DE:
        info.si_signo = SIGFPE;
        info.si_code = FPE_INTDIV;
        info.si_addr = (void *)(uintptr_t)env->tcg.pc;
        break;
    case EXCP_MF:
    case EXCP_XM:
        info.si_signo = SIGFPE;
        info.si_code = env->error_code ? env->error_code : FPE_FLTINV;
        info.si_addr = (void *)(uintptr_t)env->tcg.pc;
        break;
    case EXCP_UD:
        info.si_signo = SIGILL;
        info.si_code = ILL_ILLOPN;
        info.si_addr = (void *)(uintptr_t)env->tcg.pc;
        break;
    case EXCP_BP:
        info.si_signo = SIGTRAP;
        info.si_code = SI_KERNEL;
        break;
    case EXCP_DB:   /* INT1 (ICEBP): no DR6 cause, so Linux reports a breakpoint at the next instruction */
        info.si_signo = SIGTRAP;
        info.si_code = TRAP_BRKPT;
        info.si_addr = (void *)(uintptr_t)env->tcg.pc;
        break;
    case EXCP_SS:   /* Linux: SIGBUS, sent by force_sig() */
        info.si_signo = SIGBUS;
        info.si_code = SI_KERNEL;
        break;
    case EXCP_PF:
        info.si_signo = SIGSEGV;
        info.si_code = (env->error_code & 1) ? SEGV_ACCERR : SEGV_MAPERR;
        info.si_addr = (void *)(uintptr_t)env->fault_addr;
        break;
    case EXCP_AC:
        info.si_signo = SIGBUS;
        info.si_code = env->error_code ? env->error_code : BUS_ADRALN;
        info.si_addr = (void *)(uintptr_t)env->fault_addr;
        break;
    default:   /* #GP and the rest: what Linux sends for a general protection fault */
        info.si_signo = SIGSEGV;
        info.si_code = SI_KERNEL;
        break;
    }
    if (linux_process.log_mask & TCG_LOG_INT) {
        fprintf(linux_process.log, "exception %d at pc=0x%llx: signal %d code %d addr=%p\n", env->exception,
                (unsigned long long)env->tcg.pc, info.si_signo, info.si_code, info.si_addr);
    }
    signal_deliver_one(t, info.si_signo, &info, true);
}
