/*
 * The emulated runner: the same bytes at the same address, through the CPU model and a backend. The code
 * is followed by SYSCALL, which the translator turns into an exit to the loop (TCG_EXIT_SYSCALL) without
 * touching any register; that is where the native run's jump back to the trampoline sits. A SYSCALL
 * anywhere else is the tested code's own: the harness plays the kernel for it (harness_emu_syscall).
 *
 * User mode's real fault handling lives in user/linux, not in the core, so the harness brings a small one:
 * a host SIGSEGV while a guest runs is the guest's access (guest addresses are host addresses) and becomes
 * #PF (or #GP for a non-canonical address, which the host reports as trap 13) at the faulting instruction;
 * a host SIGFPE is the #DE of a division the JIT ran as the host's own instruction.
 */
#define _GNU_SOURCE   /* REG_* in ucontext_t */
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <ucontext.h>

#include "core/target-x86/cpu.h"
#include "core/target-x86/cpuid.h"
#include "core/target-x86/fault.h"
#include "core/target-x86/translate.h"
#include "core/target-x86/tests/harness-internal.h"
#include "core/tcg/cpu-exec.h"
#include "core/tcg/tb.h"

_Static_assert(sizeof(HarnessFx) == sizeof(X86FxArea), "the FXSAVE images agree");
_Static_assert(sizeof(HarnessYmm) == sizeof(X86YMMReg), "the YMM registers agree");
_Static_assert(HARNESS_ALL_FLAGS == (X86_ARITH_FLAGS | X86_DF), "the flag masks agree");

static CPUX86State *harness_env;
static const TCGBackend *harness_env_backend;
static volatile sig_atomic_t harness_emu_timed_out;

static void harness_emu_segv(int sig, siginfo_t *si, void *ucv)
{
    TCGCPU *cpu = tcg_current_cpu;
    if (!cpu) {
        /* Not a guest access: let the fault happen again with the default action (a core dump). */
        signal(sig, SIG_DFL);
        return;
    }
    CPUX86State *env = x86_env(cpu);
    const ucontext_t *uc = ucv;
    tcg_cpu_restore_from_signal(cpu, uc);
    if (sig == SIGFPE) {
        env->exception = EXCP_DE;
        env->error_code = 0;
        env->fault_addr = 0;
    } else if (uc->uc_mcontext.gregs[REG_TRAPNO] == EXCP_GP) {
        env->exception = x86_gp_fault_vector(env);   /* #SS through RSP/RBP */
        env->error_code = 0;
        env->fault_addr = 0;
    } else {
        env->exception = EXCP_PF;
        env->error_code = (int32_t)uc->uc_mcontext.gregs[REG_ERR];
        env->fault_addr = (uint64_t)(uintptr_t)si->si_addr;
    }
    env->tcg.pc = env->tcg.insn_pc;
    tcg_cpu_loop_exit(cpu, TCG_EXIT_EXCEPTION);
}

static void harness_emu_alarm(int sig)
{
    (void)sig;
    harness_emu_timed_out = 1;
    if (tcg_current_cpu) {
        tcg_cpu_request_exit(tcg_current_cpu);
    }
}

static void harness_emu_install_handlers(void)
{
    static bool done;
    if (done) {
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = harness_emu_segv;
    /* NODEFER: the handler leaves by siglongjmp, and a later fault must still reach it. */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = harness_emu_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    done = true;
}

static FILE *harness_emu_log;
static unsigned harness_emu_log_mask;

void harness_emu_set_log(FILE *log, unsigned mask)
{
    harness_emu_log = log;
    harness_emu_log_mask = log ? mask : 0;
}

/* One CPU for every emulated run; a backend change drops every block compiled by the old one. */
static CPUX86State *harness_emu_env(const TCGBackend *backend)
{
    if (!harness_env) {
        size_t size = (sizeof(CPUX86State) + 63) & ~(size_t)63;
        harness_env = aligned_alloc(64, size);
        if (!harness_env) {
            return NULL;
        }
        memset(harness_env, 0, size);
        x86_cpu_reset_user(harness_env);
        tcg_cpu_init(&harness_env->tcg, &x86_target_ops, backend);
        tb_cache_init(backend);
        harness_env_backend = backend;
    } else if (backend != harness_env_backend) {
        tb_flush_all();
        tb_cache_init(backend);
        harness_env->tcg.backend = backend;
        harness_env_backend = backend;
    }
    return harness_env;
}

static int harness_signal_of_vector(int vector)
{
    switch (vector) {
    case EXCP_DE:
    case EXCP_MF:
    case EXCP_XM:
        return SIGFPE;
    case EXCP_DB:
    case EXCP_BP:
        return SIGTRAP;
    case EXCP_UD:
        return SIGILL;
    case EXCP_NP:
    case EXCP_SS:
    case EXCP_AC:
        return SIGBUS;
    default:
        return SIGSEGV;   /* #GP, #PF, #OF, #BR, #TS and anything unexpected */
    }
}

/*
 * The si_code Linux (x86-64, 6.x) sends with each vector's signal: the emulated side of the comparison with
 * the kernel's own. #MF/#XM carry the model's FPE_* code as their error code (computed, as the kernel does,
 * from the unmasked flags); #DB from INT1 (ICEBP) has no DR6 cause and is a breakpoint.
 */
static int harness_si_code_of(const CPUX86State *env)
{
    switch (env->exception) {
    case EXCP_DE: return FPE_INTDIV;
    case EXCP_DB: return TRAP_BRKPT;
    case EXCP_UD: return ILL_ILLOPN;
    case EXCP_MF:
    case EXCP_XM: return env->error_code;
    case EXCP_PF: return (env->error_code & 1) ? SEGV_ACCERR : SEGV_MAPERR;
    case EXCP_AC: return BUS_ADRALN;
    default: return SI_KERNEL;   /* #BP, #OF, #GP, #SS: force_sig() */
    }
}

static void harness_emu_load(CPUX86State *env, const HarnessState *in)
{
    x86_cpu_reset_user(env);
    env->model = x86_cpu_model_find(NULL);
    memcpy(env->regs, in->regs, sizeof(env->regs));
    x86_set_eflags(env, in->rflags, X86_ARITH_FLAGS | X86_DF);
    memcpy(env->ymm, in->ymm, sizeof(env->ymm));
    memcpy(&env->fx, &in->fx, sizeof(env->fx));
    env->fx.mxcsr_mask = 0xffff;
    env->exception = -1;
    env->fault_addr = 0;
    env->tcg.pc = HARNESS_CODE_ADDR;
    env->tcg.exit_request = 0;
}

/*
 * New code on the page: no block and no jump-cache entry from an earlier run may survive. The same code
 * again (random inputs) keeps its blocks: dropped blocks are never freed, so flushing every run would grow
 * memory with the iteration count.
 */
static void harness_emu_new_code(const uint8_t *code, size_t len)
{
    static uint8_t last[HARNESS_CODE_SIZE];
    static size_t last_len = SIZE_MAX;
    if (len == last_len && memcmp(code, last, len) == 0) {
        return;
    }
    tb_flush_all();   /* every CPU's jump cache too */
    memcpy(last, code, len);
    last_len = len;
}

static void harness_emu_save(const CPUX86State *env, HarnessState *out)
{
    memcpy(out->regs, env->regs, sizeof(out->regs));
    out->rflags = x86_get_eflags(env);
    memcpy(out->ymm, env->ymm, sizeof(out->ymm));
    memcpy(&out->fx, &env->fx, sizeof(out->fx));
}

/*
 * The tested code's SYSCALL, as Linux runs it: the instruction leaves the next RIP in RCX and RFLAGS in
 * R11 (the kernel's SYSRET path returns them so, RF clear), and the call's result lands in RAX. Only the
 * allowed calls are made (on the host, with the same number, so the result is the native child's); any
 * other number is the generator's mistake. False then, with out->error set.
 */
static bool harness_emu_syscall(CPUX86State *env, HarnessResult *out)
{
    uint64_t nr = env->regs[R_EAX];
    if (!harness_syscall_allowed(nr)) {
        snprintf(out->error, sizeof(out->error), "SYSCALL at 0x%llx with RAX = 0x%llx, not a call the harness "
                 "allows", (unsigned long long)(env->tcg.pc - 2), (unsigned long long)nr);
        return false;
    }
    env->regs[R_ECX] = env->tcg.pc;
    env->regs[R_R11] = x86_get_eflags(env) & ~(uint64_t)(1u << 16);   /* RF */
    long r = syscall((long)nr);
    env->regs[R_EAX] = r < 0 ? (uint64_t)(int64_t)-errno : (uint64_t)r;
    return true;
}

static void harness_emu_timer(int seconds)
{
    struct itimerval it = {.it_value = {.tv_sec = seconds}};
    setitimer(ITIMER_REAL, &it, NULL);
}

const void *harness_backend_named(const char *name)
{
    bool cold = strcmp(name, "jit_cold") == 0;
    tcg_hot_runs = cold ? TCG_HOT_RUNS : 0;
    return tcg_backend_find(cold ? "jit" : name);
}

int harness_run_emulated(const uint8_t *code, size_t len, const HarnessState *in, HarnessResult *out,
                         const void *backend_arg)
{
    const TCGBackend *backend = backend_arg ? backend_arg : &tcg_backend_interp;
    harness_result_clear(out);
    int err = harness_regions_init(out->error, sizeof(out->error));
    if (err < 0 || (err = harness_validate_input(len, in, out)) < 0) {
        return err;
    }
    harness_emu_install_handlers();
    CPUX86State *env = harness_emu_env(backend);
    if (!env) {
        snprintf(out->error, sizeof(out->error), "out of memory for the CPU state");
        return -ENOMEM;
    }

    uint8_t *page = (uint8_t *)(uintptr_t)HARNESS_CODE_ADDR;
    memset(page, 0xcc, HARNESS_CODE_SIZE);
    memcpy(page, code, len);
    page[len] = 0x0f;   /* syscall */
    page[len + 1] = 0x05;
    memcpy((void *)(uintptr_t)HARNESS_MEM_ADDR, in->mem, HARNESS_MEM_SIZE);
    harness_emu_new_code(code, len);
    harness_emu_load(env, in);
    env->tcg.log = harness_emu_log;
    env->tcg.log_mask = harness_emu_log_mask;

    const uint64_t stop = HARNESS_CODE_ADDR + len;
    harness_emu_timed_out = 0;
    harness_emu_timer((int)harness_time_limit);
    for (;;) {
        tcg_current_cpu = &env->tcg;
        TCGExitReason why = tcg_cpu_exec(&env->tcg);
        tcg_current_cpu = NULL;
        if (why == TCG_EXIT_SYSCALL && env->tcg.pc == stop + 2) {
            out->status = HARNESS_DONE;
            out->rip = stop;
        } else if (why == TCG_EXIT_SYSCALL) {
            if (harness_emu_syscall(env, out)) {
                continue;
            }
            out->status = HARNESS_ERROR;
            out->rip = env->tcg.pc;
        } else if (why == TCG_EXIT_EXCEPTION && env->exception < 0) {
            out->status = HARNESS_ERROR;
            out->rip = env->tcg.pc;
            snprintf(out->error, sizeof(out->error), "the emulator could not translate the code at 0x%llx",
                     (unsigned long long)env->tcg.pc);
        } else if (why == TCG_EXIT_EXCEPTION) {
            out->status = HARNESS_SIGNAL;
            out->vector = env->exception;
            out->signo = harness_signal_of_vector(env->exception);
            out->rip = env->tcg.pc;
            out->fault_addr = (out->signo == SIGSEGV || out->signo == SIGBUS) ? env->fault_addr : 0;
            out->si_code = harness_si_code_of(env);
        } else if (why == TCG_EXIT_INTERRUPT && harness_emu_timed_out) {
            out->status = HARNESS_TIMEOUT;
            out->rip = env->tcg.pc;
        } else if (why == TCG_EXIT_INTERRUPT || why == TCG_EXIT_NONE) {
            continue;
        } else {
            out->status = HARNESS_ERROR;
            out->rip = env->tcg.pc;
            snprintf(out->error, sizeof(out->error), "unexpected loop exit %d at pc 0x%llx", (int)why,
                     (unsigned long long)env->tcg.pc);
        }
        break;
    }
    harness_emu_timer(0);
    harness_emu_save(env, &out->state);
    memcpy(out->state.mem, (const void *)(uintptr_t)HARNESS_MEM_ADDR, HARNESS_MEM_SIZE);
    return 0;
}

/*
 * The same run in a forked child: a crash or a hang inside the emulator (a helper that never returns to
 * the loop cannot see an exit request) then becomes a result instead of taking the test binary down.
 */
int harness_run_emulated_forked(const uint8_t *code, size_t len, const HarnessState *in, HarnessResult *out,
                                const void *backend)
{
    static HarnessResult *shared;
    harness_result_clear(out);
    int err = harness_regions_init(out->error, sizeof(out->error));
    if (err < 0 || (err = harness_validate_input(len, in, out)) < 0) {
        return err;
    }
    if (!shared) {
        void *p = mmap(NULL, sizeof(HarnessResult), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            snprintf(out->error, sizeof(out->error), "cannot map the result page: %s", strerror(errno));
            return -errno;
        }
        shared = p;
    }
    harness_result_clear(shared);
    snprintf(shared->error, sizeof(shared->error), "the emulator's child exited without a report");

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(out->error, sizeof(out->error), "fork: %s", strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        harness_run_emulated(code, len, in, shared, backend);
        _exit(0);
    }
    /* The child's own timer ends a guest loop; this one ends an emulator that stopped listening. */
    struct timespec start, now, nap = {.tv_nsec = 20000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    int status;
    bool killed = false;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            break;
        }
        if (w < 0 && errno != EINTR) {
            snprintf(out->error, sizeof(out->error), "waitpid: %s", strerror(errno));
            return -errno;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!killed && now.tv_sec - start.tv_sec > (time_t)harness_time_limit + 2) {
            kill(pid, SIGKILL);
            killed = true;
        }
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 10000000) {
            nap.tv_nsec *= 2;
        }
    }
    memcpy(out, shared, sizeof(*out));
    if (killed) {
        out->status = HARNESS_TIMEOUT;
    } else if (WIFSIGNALED(status)) {
        out->status = HARNESS_ERROR;
        snprintf(out->error, sizeof(out->error), "the emulator crashed with signal %d (%s)", WTERMSIG(status),
                 harness_signal_name(WTERMSIG(status)));
    }
    return 0;
}
