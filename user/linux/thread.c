/* Guest threads as host threads, and the process-wide state. */
#include <glib.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/target-x86/translate.h"
#include "user/linux/gdbstub.h"
#include "user/linux/thread.h"

LinuxProcess linux_process;

static __thread LinuxThread *thread_self;

LinuxThread *linux_thread_self(void)
{
    return thread_self;
}

/* Make t the calling host thread's guest thread and prepare its CPU for the translator. */
void linux_thread_attach(LinuxThread *t)
{
    thread_self = t;
    t->tid = (pid_t)syscall(SYS_gettid);
    tcg_cpu_init(&t->env.tcg, &x86_target_ops, linux_process.backend);
    t->env.tcg.log_mask = linux_process.log_mask;
    t->env.tcg.log = linux_process.log;
}

/*
 * Ended threads' structures, reused by the next clone instead of freed: the code-buffer flush may still
 * hold a pointer to an ended thread's CPU that it read while the thread ran generated code, and ask it
 * to leave (one store to TCGCPU.exit_request). In a reused structure that costs one extra return to the
 * loop; in freed memory it would corrupt whatever came there. Memory stays bounded by the most threads
 * alive at once, as it is for the process itself.
 */
static pthread_mutex_t free_threads_lock = PTHREAD_MUTEX_INITIALIZER;
static LinuxThread *free_threads;

LinuxThread *linux_thread_alloc(void)
{
    pthread_mutex_lock(&free_threads_lock);
    LinuxThread *t = free_threads;
    if (t) {
        free_threads = t->next_free;
    }
    pthread_mutex_unlock(&free_threads_lock);
    if (!t) {
        return g_aligned_alloc0(1, sizeof(LinuxThread), 64);
    }
    memset(t, 0, sizeof(*t));
    return t;
}

static void free_threads_push(LinuxThread *t)
{
    pthread_mutex_lock(&free_threads_lock);
    t->next_free = free_threads;
    free_threads = t;
    pthread_mutex_unlock(&free_threads_lock);
}

void linux_thread_discard(LinuxThread *t)
{
    free_threads_push(t);
}

void linux_thread_release(LinuxThread *t)
{
    /* From here on no signal may land on this host thread: the guest thread it ran is gone. A
       process-wide signal goes to another thread; one sent to this thread alone is lost, as in Linux. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    linux_gdb_thread_exit();
    tcg_cpu_destroy(&t->env.tcg);
    thread_self = NULL;
    free_threads_push(t);
}

bool linux_thread_is_main(const LinuxThread *t)
{
    return t->tid == getpid();   /* also in a forked child, whose only thread is its first */
}

LinuxThread *linux_thread_new_main(void)
{
    LinuxThread *t = g_aligned_alloc0(1, sizeof(LinuxThread), 64);
    x86_cpu_reset_user(&t->env);
    t->altstack.ss_flags = SS_DISABLE;
    t->env.opaque = t;
    linux_thread_attach(t);
    return t;
}
