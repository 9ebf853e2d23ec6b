/* The user-mode CPU loop: run guest code, handle what it exits for, deliver signals. */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user/linux/gdbstub.h"
#include "user/linux/syscall.h"
#include "user/linux/thread.h"

/*
 * Calls that Linux restarts after a handler with SA_RESTART (-ERESTARTSYS in the kernel); the others
 * return EINTR to the guest.
 */
static bool syscall_restartable(uint64_t nr)
{
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_readv: case SYS_writev: case SYS_pread64: case SYS_pwrite64:
    case SYS_open: case SYS_openat: case SYS_wait4: case SYS_waitid: case SYS_accept: case SYS_accept4:
    case SYS_connect: case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg:
    case SYS_futex: case SYS_flock: case SYS_fcntl: case SYS_ioctl: case SYS_sendfile: case SYS_splice:
        return true;
    default:
        return false;
    }
}

static void cpu_loop_syscall(LinuxThread *t)
{
    CPUX86State *env = &t->env;
    uint64_t nr = env->regs[R_EAX];
    /* SYSCALL itself leaves the return address in RCX and RFLAGS in R11, and the kernel keeps them. */
    env->regs[R_ECX] = env->tcg.pc;
    env->regs[R_R11] = x86_get_eflags(env);
    if (nr == SYS_exit_group && linux_gdb_active) {
        linux_gdb_exit((int)env->regs[R_EDI]);
    }
    linux_do_syscall(env);
    if ((int64_t)env->regs[R_EAX] == -EINTR && syscall_restartable(nr) && (t->pending & ~t->sigmask) &&
        linux_signal_should_restart(t)) {
        /* Run the SYSCALL instruction again once the handler returns. */
        env->regs[R_EAX] = nr;
        env->tcg.pc -= 2;
    }
}

void linux_cpu_loop(LinuxThread *t)
{
    CPUX86State *env = &t->env;
    /* -g: the first thread waits for gdb before the program's first instruction. */
    static bool gdb_started;
    if (!gdb_started) {
        gdb_started = true;
        int port = linux_process.options ? linux_process.options->gdb_port : 0;
        if (port && linux_gdb_start(port < 0 ? 0 : port) < 0) {
            _exit(1);
        }
    }
    for (;;) {
        if (linux_gdb_active) {
            linux_gdb_before_exec(t);
        }
        /* Only while guest code runs may a host fault be the guest's (see signal.c). */
        tcg_current_cpu = &env->tcg;
        TCGExitReason why = tcg_cpu_exec(&env->tcg);
        tcg_current_cpu = NULL;
        if (linux_gdb_active) {
            why = linux_gdb_after_exec(t, why);
        }
        switch (why) {
        case TCG_EXIT_SYSCALL:
            cpu_loop_syscall(t);
            if (t->exited) {
                return;
            }
            break;
        case TCG_EXIT_EXCEPTION:
            linux_signal_from_exception(t);
            break;
        case TCG_EXIT_HALT:
        case TCG_EXIT_INTERRUPT:
        case TCG_EXIT_NONE:
            break;
        }
        linux_signal_deliver_pending(t);
    }
}
