/*
 * The native runner: the oracle. The tested bytes run on the host CPU in a forked child, so a sequence
 * that faults, loops or wrecks the process state (DF, MXCSR, the stack pointer) cannot hurt the test. The
 * child reports through a shared mapping: the trampoline's exit stores the final state there, and a fault
 * handler (on its own signal stack, so the test's stack bytes stay as the code left them) stores the state
 * at the fault. The memory region is shared too, so the parent sees the child's stores.
 */
#define _GNU_SOURCE   /* REG_* in ucontext_t */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/target-x86/tests/harness-internal.h"

_Static_assert(offsetof(HarnessState, regs) == HS_REGS, "HS_REGS");
_Static_assert(offsetof(HarnessState, rflags) == HS_RFLAGS, "HS_RFLAGS");
_Static_assert(offsetof(HarnessState, ymm) == HS_YMM, "HS_YMM");
_Static_assert(offsetof(HarnessState, fx) == HS_FX, "HS_FX");
_Static_assert(offsetof(HarnessState, mem) == HS_MEM, "HS_MEM");
_Static_assert(sizeof(HarnessFx) == 512, "FXSAVE image");
_Static_assert(offsetof(HarnessFx, mxcsr) == 24, "MXCSR at 24");

void harness_native_enter(const HarnessState *in, HarnessState *out, uint64_t entry, long use_avx);
void harness_native_exit(void);

/* Linux signal frames: the XSAVE area follows the FXSAVE image when the software bytes say so. */
#define HARNESS_FP_XSTATE_MAGIC1 0x46505853u
#define HARNESS_XSAVE_YMM_HI 576        /* standard-format offset of the YMM upper halves */
#define HARNESS_XFEATURE_YMM (1ull << 2)

/* The ucontext's register slots in HarnessState.regs order. */
static const int harness_greg_index[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static bool harness_regions_ready;
unsigned harness_time_limit = 5;

void harness_set_time_limit(unsigned seconds)
{
    harness_time_limit = seconds ? seconds : 1;
}

int harness_regions_init(char *err, size_t errlen)
{
    if (harness_regions_ready) {
        return 0;
    }
    void *code = mmap((void *)(uintptr_t)HARNESS_CODE_ADDR, HARNESS_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (code != (void *)(uintptr_t)HARNESS_CODE_ADDR) {
        snprintf(err, errlen, "cannot map the code region at 0x%llx: %s", HARNESS_CODE_ADDR,
                 strerror(code == MAP_FAILED ? errno : EEXIST));
        return -EEXIST;
    }
    void *mem = mmap((void *)(uintptr_t)HARNESS_MEM_ADDR, HARNESS_MEM_SIZE, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (mem != (void *)(uintptr_t)HARNESS_MEM_ADDR) {
        snprintf(err, errlen, "cannot map the memory region at 0x%llx: %s", HARNESS_MEM_ADDR,
                 strerror(mem == MAP_FAILED ? errno : EEXIST));
        munmap(code, HARNESS_CODE_SIZE);
        return -EEXIST;
    }
    harness_regions_ready = true;
    return 0;
}

void harness_result_clear(HarnessResult *out)
{
    memset(out, 0, sizeof(*out));
    out->status = HARNESS_ERROR;
    out->vector = -1;
}

int harness_validate_input(size_t len, const HarnessState *in, HarnessResult *out)
{
    if (len > HARNESS_CODE_MAX) {
        snprintf(out->error, sizeof(out->error), "code too long: %zu bytes (at most %llu)", len, HARNESS_CODE_MAX);
        return -EINVAL;
    }
    /* FXRSTOR faults on reserved MXCSR bits: that would be a fault of the harness, not of the code. */
    if (in->fx.mxcsr & ~0xffffu) {
        snprintf(out->error, sizeof(out->error), "input MXCSR 0x%x sets reserved bits", in->fx.mxcsr);
        return -EINVAL;
    }
    return 0;
}

bool harness_host_has_avx(void)
{
    static int avx = -1;
    if (avx < 0) {
        __builtin_cpu_init();
        avx = __builtin_cpu_supports("avx") ? 1 : 0;
    }
    return avx == 1;
}

/* --- system calls the tested code may make ------------------------------------------------------------ */

/* 1000, 0x7fff and 400 (in the gap after the io_uring calls) are numbers x86-64 Linux does not have. */
const uint32_t harness_syscall_numbers[] = {
    SYS_sched_yield, SYS_getuid, SYS_getgid, SYS_geteuid, SYS_getegid, 400, 1000, 0x7fff,
};
const size_t harness_syscall_count = sizeof(harness_syscall_numbers) / sizeof(harness_syscall_numbers[0]);

bool harness_syscall_allowed(uint64_t nr)
{
    for (size_t i = 0; i < harness_syscall_count; i++) {
        if (nr == harness_syscall_numbers[i]) {
            return true;
        }
    }
    return false;
}

/*
 * From the jump into the tested code on, the child may make only the allowed calls and exit: a SYSCALL
 * with any other number (a generator or shrinker bug, random bytes) gets -ENOSYS instead of acting on the
 * host. The kernel looks at the low 32 bits of RAX only, as the filter does.
 */
static int harness_native_seccomp(void)
{
    struct sock_filter f[8 + 2 * (sizeof(harness_syscall_numbers) / sizeof(harness_syscall_numbers[0])) + 4];
    size_t n = 0;
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    const uint32_t always[] = {SYS_exit_group, SYS_exit, SYS_rt_sigreturn};
    for (size_t i = 0; i < 3 + harness_syscall_count; i++) {
        uint32_t nr = i < 3 ? always[i] : harness_syscall_numbers[i - 3];
        f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1);
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
        return -errno;
    }
    return 0;
}

/* --- the child --------------------------------------------------------------------------------------- */

static HarnessResult *harness_shared;   /* the child's report, in a MAP_SHARED page */
static size_t harness_stop_offset;
static HarnessState harness_child_in;   /* the child's copy of the input, flags made safe */

static void harness_native_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    const greg_t *g = uc->uc_mcontext.gregs;
    HarnessResult *r = harness_shared;

    r->status = HARNESS_SIGNAL;
    r->signo = sig;
    r->vector = (int)g[REG_TRAPNO];
    r->rip = (uint64_t)g[REG_RIP];
    r->fault_addr = (sig == SIGSEGV || sig == SIGBUS) ? (uint64_t)(uintptr_t)si->si_addr : 0;
    r->si_code = si->si_code;
    for (int i = 0; i < 16; i++) {
        r->state.regs[i] = (uint64_t)g[harness_greg_index[i]];
    }
    r->state.rflags = (uint64_t)g[REG_EFL];

    const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
    if (fp) {
        memcpy(&r->state.fx, fp, sizeof(r->state.fx));
        for (int i = 0; i < 16; i++) {
            memcpy(r->state.ymm[i].b, fp + 160 + 16 * i, 16);
        }
        /* The upper YMM halves, when the frame carries an XSAVE area that holds them. */
        uint32_t magic;
        uint64_t xfeatures, xstate_bv;
        memcpy(&magic, fp + 464, 4);
        memcpy(&xfeatures, fp + 472, 8);
        if (magic == HARNESS_FP_XSTATE_MAGIC1 && (xfeatures & HARNESS_XFEATURE_YMM)) {
            memcpy(&xstate_bv, fp + 512, 8);
            for (int i = 0; i < 16; i++) {
                if (xstate_bv & HARNESS_XFEATURE_YMM) {
                    memcpy(r->state.ymm[i].b + 16, fp + HARNESS_XSAVE_YMM_HI + 16 * i, 16);
                } else {
                    memset(r->state.ymm[i].b + 16, 0, 16);
                }
            }
        }
    }
    _exit(0);
}

static void harness_native_child(void)
{
    static uint8_t altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    sigaltstack(&ss, NULL);

    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
    sigset_t unblock;
    sigemptyset(&unblock);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = harness_native_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigfillset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
        sigaddset(&unblock, sigs[i]);
    }
    signal(SIGALRM, SIG_DFL);
    sigaddset(&unblock, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
    alarm(harness_time_limit);
    int err = harness_native_seccomp();
    if (err < 0) {
        snprintf(harness_shared->error, sizeof(harness_shared->error), "cannot install the seccomp filter: %s",
                 strerror(-err));
        _exit(0);
    }

    harness_native_enter(&harness_child_in, &harness_shared->state, HARNESS_CODE_ADDR, harness_host_has_avx());

    harness_shared->status = HARNESS_DONE;
    harness_shared->rip = HARNESS_CODE_ADDR + harness_stop_offset;
    _exit(0);
}

/* --- the parent -------------------------------------------------------------------------------------- */

int harness_run_native(const uint8_t *code, size_t len, const HarnessState *in, HarnessResult *out)
{
    harness_result_clear(out);
    int err = harness_regions_init(out->error, sizeof(out->error));
    if (err < 0 || (err = harness_validate_input(len, in, out)) < 0) {
        return err;
    }
    if (!harness_shared) {
        void *p = mmap(NULL, sizeof(HarnessResult), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            snprintf(out->error, sizeof(out->error), "cannot map the result page: %s", strerror(errno));
            return -errno;
        }
        harness_shared = p;
    }

    /* The code, then `jmp *0(%rip)` with the exit's address: leaves every register and flag alone. */
    uint8_t *page = (uint8_t *)(uintptr_t)HARNESS_CODE_ADDR;
    memset(page, 0xcc, HARNESS_CODE_SIZE);
    memcpy(page, code, len);
    static const uint8_t jmp_rip[6] = {0xff, 0x25, 0, 0, 0, 0};
    uint64_t exit_addr = (uint64_t)(uintptr_t)harness_native_exit;
    memcpy(page + len, jmp_rip, sizeof(jmp_rip));
    memcpy(page + len + sizeof(jmp_rip), &exit_addr, sizeof(exit_addr));
    __builtin___clear_cache((char *)page, (char *)page + len + 14);
    memcpy((void *)(uintptr_t)HARNESS_MEM_ADDR, in->mem, HARNESS_MEM_SIZE);

    harness_stop_offset = len;
    memcpy(&harness_child_in, in, offsetof(HarnessState, mem));
    /* Only the arithmetic flags and DF are the test's to choose: TF or AC would trap or fault. */
    harness_child_in.rflags = (in->rflags & HARNESS_ALL_FLAGS) | 0x202;
    harness_result_clear(harness_shared);
    snprintf(harness_shared->error, sizeof(harness_shared->error), "the native child exited without a report");

    fflush(NULL);   /* nothing buffered is written twice by the child */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(out->error, sizeof(out->error), "fork: %s", strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        harness_native_child();
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(out->error, sizeof(out->error), "waitpid: %s", strerror(errno));
            return -errno;
        }
    }
    memcpy(out, harness_shared, offsetof(HarnessResult, state) + offsetof(HarnessState, mem));
    if (WIFSIGNALED(status)) {
        if (WTERMSIG(status) == SIGALRM) {
            out->status = HARNESS_TIMEOUT;
        } else {
            out->status = HARNESS_ERROR;
            snprintf(out->error, sizeof(out->error), "the native child was killed by signal %d", WTERMSIG(status));
        }
    }
    memcpy(out->state.mem, (const void *)(uintptr_t)HARNESS_MEM_ADDR, HARNESS_MEM_SIZE);
    return 0;
}
