/*
 * Threads and processes: clone (threads become host threads; a child process is a host fork), fork, vfork,
 * exit, set_tid_address, arch_prctl.
 */
#include <asm/prctl.h>
#include <errno.h>
#include <glib.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/target-x86/hostexec.h"
#include "core/tcg/cpu-exec.h"
#include "user/linux/guest-mem.h"
#include "user/linux/sys-families.h"
#include "user/linux/syscall.h"
#include "user/linux/tb-cache.h"
#include "user/linux/thread.h"

#define THREAD_CLONE_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

typedef struct CloneStart {
    LinuxThread *child;
    uint64_t flags;
    uint64_t parent_tid_addr, child_tid_addr;
    sem_t ready;
} CloneStart;

static void *clone_thread_main(void *arg)
{
    CloneStart *cs = arg;
    LinuxThread *t = cs->child;
    linux_thread_attach(t);
    if (cs->flags & CLONE_PARENT_SETTID) {
        *(pid_t *)(uintptr_t)cs->parent_tid_addr = t->tid;
    }
    if (cs->flags & CLONE_CHILD_SETTID) {
        *(pid_t *)(uintptr_t)cs->child_tid_addr = t->tid;
    }
    /* The child starts with the parent's mask (mirrored on the host by the set below). */
    linux_signal_set_mask(t, t->sigmask);
    sem_post(&cs->ready);
    linux_cpu_loop(t);
    /* It called exit: returning ends the host thread the way its library expects, so its stack and
       thread-local data (the translator's per-thread scratch) are freed, which a bare exit call skips. */
    linux_thread_release(t);
    return NULL;
}

static long clone_thread(LinuxThread *parent, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid,
                         uint64_t tls)
{
    if ((flags & THREAD_CLONE_FLAGS) != THREAD_CLONE_FLAGS) {
        return -EINVAL;   /* a thread that shares only part of the process is not supported */
    }
    LinuxThread *t = linux_thread_alloc();
    t->env = parent->env;                       /* registers, flags, FPU state, model */
    memset(&t->env.tcg, 0, sizeof(t->env.tcg)); /* the loop's part is per thread */
    t->env.tcg.pc = parent->env.tcg.pc;
    t->env.regs[R_EAX] = 0;
    if (stack) {
        t->env.regs[R_ESP] = stack;
    }
    if (flags & CLONE_SETTLS) {
        t->env.seg_base[R_FS] = tls;
    }
    t->env.opaque = t;
    t->sigmask = parent->sigmask;
    t->altstack.ss_flags = SS_DISABLE;
    t->clear_child_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;

    CloneStart cs = {.child = t, .flags = flags, .parent_tid_addr = ptid, .child_tid_addr = ctid};
    sem_init(&cs.ready, 0, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 2u << 20);
    pthread_t th;
    int err = pthread_create(&th, &attr, clone_thread_main, &cs);
    pthread_attr_destroy(&attr);
    if (err) {
        linux_thread_discard(t);
        return -err;
    }
    while (sem_wait(&cs.ready) != 0) {
    }
    sem_destroy(&cs.ready);
    return t->tid;
}

/*
 * fork() while other guest threads may be inside the emulator: every lock they could hold is taken first
 * (outermost first, the order of every other path), so the child, which has only this thread, never
 * inherits one held forever.
 */
static pid_t fork_with_threads(void)
{
    linux_sys_mem_fork_lock(true);
    x86_fork_lock(true);
    tcg_fork_lock(true);
    guest_mem_fork_lock(true);
    pid_t pid = fork();
    int saved = errno;
    guest_mem_fork_lock(false);
    if (pid == 0) {
        tcg_fork_child();
    } else {
        tcg_fork_lock(false);
    }
    x86_fork_lock(false);
    linux_sys_mem_fork_lock(false);
    errno = saved;
    return pid;
}

/* A new process: a host fork. The child runs on in this same host thread. */
static long clone_process(LinuxThread *t, uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid,
                          uint64_t tls)
{
    /*
     * CLONE_VM without CLONE_THREAD (vfork, posix_spawn) cannot share our address space safely: the child
     * would run a second emulator over the parent's state. It becomes a plain fork, as in qemu-user; the
     * child still gets its own stack pointer.
     */
    pid_t pid = fork_with_threads();
    if (pid < 0) {
        return -errno;
    }
    if (pid == 0) {
        t->tid = (pid_t)syscall(SYS_gettid);
        if (stack) {
            t->env.regs[R_ESP] = stack;
        }
        if (flags & CLONE_SETTLS) {
            t->env.seg_base[R_FS] = tls;
        }
        if (flags & CLONE_CHILD_SETTID) {
            *(pid_t *)(uintptr_t)ctid = t->tid;
        }
        if (flags & CLONE_CHILD_CLEARTID) {
            t->clear_child_tid = ctid;
        }
        return 0;
    }
    if (flags & CLONE_PARENT_SETTID) {
        *(pid_t *)(uintptr_t)ptid = pid;
    }
    return pid;
}

static long sys_clone(CPUX86State *env, const long a[6])
{
    /* x86-64 argument order: flags, stack, parent_tid, child_tid, tls */
    uint64_t flags = (uint64_t)a[0];
    LinuxThread *t = (LinuxThread *)env;
    if (flags & CLONE_THREAD) {
        return clone_thread(t, flags, (uint64_t)a[1], (uint64_t)a[2], (uint64_t)a[3], (uint64_t)a[4]);
    }
    /* The exit signal (flags & 0xff) is SIGCHLD for every fork-like clone glibc makes; fork() gives that. */
    return clone_process(t, flags, (uint64_t)a[1], (uint64_t)a[2], (uint64_t)a[3], (uint64_t)a[4]);
}

static long sys_fork(CPUX86State *env, const long a[6])
{
    (void)a;
    return clone_process((LinuxThread *)env, 0, 0, 0, 0, 0);
}

static long sys_clone3(CPUX86State *env, const long a[6])
{
    (void)env;
    (void)a;
    /* glibc falls back to clone when clone3 is missing. */
    return -ENOSYS;
}

static long sys_exit(CPUX86State *env, const long a[6])
{
    LinuxThread *t = (LinuxThread *)env;
    if (t->clear_child_tid) {
        __atomic_store_n((pid_t *)(uintptr_t)t->clear_child_tid, 0, __ATOMIC_SEQ_CST);
        syscall(SYS_futex, (void *)(uintptr_t)t->clear_child_tid, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    /* Only this thread ends; the process ends when its last thread does. The first thread ends its host
       thread at once (with the code the parent sees if it is the last); another returns from its loop. */
    if (linux_thread_is_main(t)) {
        syscall(SYS_exit, (int)a[0]);
    }
    t->exited = true;
    return 0;
}

static long sys_exit_group(CPUX86State *env, const long a[6])
{
    (void)env;
    if (linux_process.log && linux_process.log != stderr) {
        fflush(linux_process.log);
    }
    linux_tb_cache_save();
    syscall(SYS_exit_group, (int)a[0]);
    return 0;
}

static long sys_set_tid_address(CPUX86State *env, const long a[6])
{
    LinuxThread *t = (LinuxThread *)env;
    t->clear_child_tid = (uint64_t)a[0];
    return t->tid;
}

static long sys_arch_prctl(CPUX86State *env, const long a[6])
{
    switch (a[0]) {
    case ARCH_SET_FS:
        env->seg_base[R_FS] = (uint64_t)a[1];
        return 0;
    case ARCH_SET_GS:
        env->seg_base[R_GS] = (uint64_t)a[1];
        return 0;
    case ARCH_GET_FS:
        *(uint64_t *)a[1] = env->seg_base[R_FS];
        return 0;
    case ARCH_GET_GS:
        *(uint64_t *)a[1] = env->seg_base[R_GS];
        return 0;
    default:
        return -EINVAL;
    }
}

void linux_sys_thread_register(void)
{
    linux_syscall_register(SYS_clone, sys_clone);
    linux_syscall_register(SYS_clone3, sys_clone3);
    linux_syscall_register(SYS_fork, sys_fork);
    linux_syscall_register(SYS_vfork, sys_fork);
    linux_syscall_register(SYS_exit, sys_exit);
    linux_syscall_register(SYS_exit_group, sys_exit_group);
    linux_syscall_register(SYS_set_tid_address, sys_set_tid_address);
    linux_syscall_register(SYS_arch_prctl, sys_arch_prctl);
}
