/* Guest threads as host threads, and the process-wide state. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/target-x86/translate.h"
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

LinuxThread *linux_thread_new_main(void)
{
    LinuxThread *t = g_aligned_alloc0(1, sizeof(LinuxThread), 64);
    x86_cpu_reset_user(&t->env);
    t->altstack.ss_flags = SS_DISABLE;
    t->env.opaque = t;
    linux_thread_attach(t);
    return t;
}
