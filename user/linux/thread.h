/*
 * Guest threads and the process they belong to. Each guest thread is one host thread running its own CPU
 * state through the shared translator; the guest's signal mask is mirrored onto the host thread's mask, so
 * the host kernel picks the thread a signal goes to.
 */
#ifndef EMBER_LINUX_THREAD_H
#define EMBER_LINUX_THREAD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/target-x86/cpu.h"
#include "user/linux/options.h"

#define LINUX_NSIG 65   /* signals 1..64 */
#define LINUX_SIGQUEUE_MAX 128

typedef struct LinuxThread {
    CPUX86State env;               /* first: the loop hands us &env->tcg */
    pid_t tid;
    uint64_t sigmask;              /* the guest's blocked set (bit sig-1) */
    uint64_t pending;              /* signals taken by the host handler, not yet delivered (bit sig-1) */
    /* Their siginfo, oldest first: a standard signal is queued once, a real-time one each time it comes. */
    siginfo_t queue[LINUX_SIGQUEUE_MAX];
    unsigned queued;
    stack_t altstack;              /* sigaltstack, guest addresses */
    bool has_saved_mask;           /* sigsuspend: the mask the next handler's sigreturn restores */
    uint64_t saved_mask;
    uint64_t clear_child_tid;      /* set_tid_address / CLONE_CHILD_CLEARTID */
    uint64_t afl_prev_loc;         /* AFL mode: this thread's previous block id (user/linux/afl/) */
    bool exited;                   /* it made the exit call: its loop returns (threads other than the first) */
    struct LinuxThread *next_free; /* on the list of ended threads' structures, for the next clone */
} LinuxThread;

/* What the whole process shares. */
typedef struct LinuxProcess {
    const LinuxOptions *options;
    const char *ember_path;        /* our own binary, for running an execve'd x86-64 program */
    const char *exe_path;          /* the guest program's absolute path */
    const TCGBackend *backend;
    unsigned log_mask;
    FILE *log;
} LinuxProcess;

extern LinuxProcess linux_process;

/* The calling host thread's guest thread. */
LinuxThread *linux_thread_self(void);

/* Make t the calling host thread's guest thread and prepare its CPU for the translator. */
void linux_thread_attach(LinuxThread *t);

/* Create the first guest thread's structure (the caller fills its registers). */
LinuxThread *linux_thread_new_main(void);

/* A zeroed structure for a new guest thread: an ended thread's, or a new one. */
LinuxThread *linux_thread_alloc(void);

/* The calling host thread's guest thread has ended (its loop returned): forget it everywhere and keep its
   structure for the next clone. The host thread must end next. */
void linux_thread_release(LinuxThread *t);

/* A structure from linux_thread_alloc whose thread never started. */
void linux_thread_discard(LinuxThread *t);

/* Whether t is the process's first thread (the host's main thread, whose exit call ends it directly). */
bool linux_thread_is_main(const LinuxThread *t);

/* Run the thread's guest code until it calls exit (a thread other than the first; the first thread's exit
   ends its host thread at once), or until the process ends. */
void linux_cpu_loop(LinuxThread *t);

/* The kernel's struct sigaction layout for x86-64 (what rt_sigaction takes). */
typedef struct GuestSigaction {
    uint64_t handler;
    uint64_t flags;
    uint64_t restorer;
    uint64_t mask;
} GuestSigaction;

/* Signals (signal.c). */
/* rt_sigaction's core: record the guest's action (and mirror it on the host); old may be NULL. */
long linux_signal_action(int sig, const GuestSigaction *act, GuestSigaction *old);
void linux_signals_init(void);
/* Deliver what is pending and not blocked: a frame on the guest stack, or the default action. */
void linux_signal_deliver_pending(LinuxThread *t);
/* The guest took an exception (TCG_EXIT_EXCEPTION): turn it into its signal. */
void linux_signal_from_exception(LinuxThread *t);
/* Queue a signal for this thread, as if the host had delivered it. */
void linux_signal_queue(LinuxThread *t, const siginfo_t *info);
/* Take the oldest queued signal of the lowest number in `set` (bit sig-1); 0 when there is none. */
int linux_signal_dequeue(LinuxThread *t, uint64_t set, siginfo_t *info);
/* Apply a new guest mask (also on the host thread). */
void linux_signal_set_mask(LinuxThread *t, uint64_t mask);
/* Was the syscall interrupted by a signal whose handler asks for SA_RESTART? */
bool linux_signal_should_restart(LinuxThread *t);
/* End the process the way signal `sig`'s default action would, so the parent's wait status matches. */
__attribute__((noreturn)) void linux_die_by_signal(int sig);

/* Signal frames (signal-frame.c): build one for a handler, and undo it for rt_sigreturn. */
bool linux_signal_frame_setup(LinuxThread *t, int sig, const siginfo_t *info, uint64_t handler, uint64_t flags,
                              uint64_t restorer, uint64_t handler_mask);
long linux_signal_frame_return(LinuxThread *t);

#endif
