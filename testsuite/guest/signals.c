/*
 * Signal delivery as a program sees it: siginfo for raise/kill/sigqueue, blocking and pending,
 * real-time queueing, sa_mask/SA_NODEFER/SA_RESETHAND, sigaltstack, sigsuspend, sigwaitinfo,
 * a timer signal interrupting a busy loop and a blocking read (EINTR), and synchronous signals from
 * faulting instructions (ud2 -> SIGILL/ILL_ILLOPN, div by zero -> SIGFPE/FPE_INTDIV, int3 ->
 * SIGTRAP) whose handlers edit the ucontext (RIP, general registers, an XMM register) to resume.
 * Handlers only record; main prints.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#include "testsuite/guest/check.h"

struct record {
    int signo, code, count, errno_in, pid_ok, value;
    void *addr;
    int blocked_self, blocked_other, on_altstack;
};
static volatile struct record rec;
static volatile int order[8], norder;

static void reset(void)
{
    memset((void *)&rec, 0, sizeof rec);
    norder = 0;
}

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags, int also_block)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    sigemptyset(&sa.sa_mask);
    if (also_block)
        sigaddset(&sa.sa_mask, also_block);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void on_info(int sig, siginfo_t *si, void *ucv)
{
    (void)ucv;
    sigset_t now;
    stack_t ss;
    sigprocmask(SIG_BLOCK, NULL, &now);
    sigaltstack(NULL, &ss);
    rec.signo = sig;
    rec.code = si->si_code;
    rec.count++;
    rec.pid_ok = si->si_pid == getpid() && si->si_uid == getuid();
    rec.value = si->si_value.sival_int;
    rec.blocked_self = sigismember(&now, sig);
    rec.blocked_other = sigismember(&now, SIGUSR2);
    rec.on_altstack = (ss.ss_flags & SS_ONSTACK) != 0;
    if (norder < 8)
        order[norder++] = sig;
    rec.errno_in = errno;
    errno = 12345; /* the interrupted code must get its errno back */
}

static const char *sig_name(int sig)
{
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        static char buf[16];
        snprintf(buf, sizeof buf, "RTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
    if (!abbrev) {
        static char bad[16];
        snprintf(bad, sizeof bad, "%s%d", sig ? "bad:" : "-", sig);
        return sig ? bad : "-";
    }
    return abbrev;
}

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_TKILL: return "SI_TKILL";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_TIMER: return "SI_TIMER";
    default: return "other";
    }
}

static void report(const char *what)
{
    printf("%-30s sig %-9s count %d code %-8s sender %s\n", what, sig_name(rec.signo),
           rec.count, code_name(rec.code), rec.pid_ok ? "self" : "other");
}

/* ---- faulting instructions, resumed by editing the ucontext ---- */

static volatile int fault_sig, fault_code, fault_rip_ok, fault_mxcsr;
static volatile int fault_skip = 2; /* length of the faulting instruction the handler steps over */
static volatile uint8_t fault_bytes[2];

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    fault_sig = sig;
    fault_code = si->si_code;
    if (sig == SIGTRAP) {
        /* int3 is a trap: RIP is already past the 0xcc, si_addr is not meaningful. */
        const uint8_t *at = (const uint8_t *)g[REG_RIP] - 1;
        fault_bytes[0] = at[0];
        fault_rip_ok = 1;
        g[REG_RAX] = 0x7777;
        return;
    }
    /* ud2 and div are faults: RIP and si_addr point at the instruction, which the handler skips. */
    const uint8_t *at = (const uint8_t *)g[REG_RIP];
    fault_rip_ok = (void *)at == si->si_addr;
    fault_bytes[0] = at[0];
    fault_bytes[1] = at[1];
    fault_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    g[REG_RIP] += fault_skip;
    g[REG_RAX] = 0x1234567890abcdefll;
    g[REG_RDX] = 0x55;
    g[REG_R8] = -2;
    /* The FP state in the frame is restored by sigreturn too. */
    uc->uc_mcontext.fpregs->_xmm[0].element[0] = 0xdeadbeef;
    uc->uc_mcontext.fpregs->_xmm[0].element[1] = 0xcafef00d;
}

static void test_faults(void)
{
    install(SIGILL, on_fault, 0, 0);
    install(SIGFPE, on_fault, 0, 0);
    install(SIGTRAP, on_fault, 0, 0);

    uint64_t rax, rdx, r8v, xmm_lo;
    register uint64_t r8 asm("r8");
    uint64_t keep = 0x0123456789abcdefull;
    register uint64_t r12 asm("r12") = keep;
    asm volatile("xor %%eax, %%eax\n\t"
                 "xor %%edx, %%edx\n\t"
                 "xor %%r8d, %%r8d\n\t"
                 "pxor %%xmm0, %%xmm0\n\t"
                 "ud2\n\t"
                 "movq %%xmm0, %3\n\t"
                 : "=&a"(rax), "=&d"(rdx), "=&r"(r8), "=r"(xmm_lo), "+r"(r12)
                 :
                 : "xmm0", "memory");
    r8v = r8;
    printf("ud2: %s %s rip==si_addr %d bytes %02x %02x\n", sig_name(fault_sig),
           fault_code == ILL_ILLOPN ? "ILL_ILLOPN" : "other", fault_rip_ok, fault_bytes[0], fault_bytes[1]);
    printf("  resumed with rax %llx rdx %llx r8 %lld xmm0 %llx r12 %s mxcsr %x\n", (unsigned long long)rax,
           (unsigned long long)rdx, (long long)r8v, (unsigned long long)xmm_lo, r12 == keep ? "kept" : "LOST",
           fault_mxcsr);

    fault_sig = 0;
    asm volatile("mov $100, %%eax\n\t"
                 "xor %%edx, %%edx\n\t"
                 "xor %%ecx, %%ecx\n\t"
                 "div %%ecx\n\t"
                 : "=&a"(rax), "=&d"(rdx)
                 :
                 : "rcx", "r8", "xmm0", "memory");
    printf("div by zero: %s %s rip==si_addr %d bytes %02x %02x rax %llx\n", sig_name(fault_sig),
           fault_code == FPE_INTDIV ? "FPE_INTDIV" : "other", fault_rip_ok, fault_bytes[0], fault_bytes[1],
           (unsigned long long)rax);

    /* INT64_MIN / -1 overflows the quotient: also #DE, also FPE_INTDIV on Linux. */
    fault_sig = 0;
    fault_skip = 3;
    asm volatile("mov $-1, %%rcx\n\t"
                 "mov $0x8000000000000000, %%rax\n\t"
                 "cqo\n\t"
                 "idiv %%rcx\n\t" /* 48 f7 f9 */
                 : "=&a"(rax), "=&d"(rdx)
                 :
                 : "rcx", "r8", "xmm0", "memory");
    fault_skip = 2;
    printf("idiv overflow: %s %s bytes %02x %02x\n", sig_name(fault_sig),
           fault_code == FPE_INTDIV ? "FPE_INTDIV" : "other", fault_bytes[0], fault_bytes[1]);

    fault_sig = 0;
    asm volatile("xor %%eax, %%eax\n\t"
                 "int3\n\t"
                 : "=&a"(rax)
                 :
                 : "rdx", "r8", "xmm0", "memory");
    printf("int3: %s %s byte %02x rax %llx\n", sig_name(fault_sig), code_name(fault_code), fault_bytes[0],
           (unsigned long long)rax);
}

/* ---- sigaltstack, including a stack overflow caught on it ---- */

static char *alt_lo, *alt_hi;
static volatile int alt_local_inside;
static sigjmp_buf overflow_jmp;

static void on_alt(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    char local;
    alt_local_inside = &local >= alt_lo && &local < alt_hi;
    if (sig == SIGSEGV)
        siglongjmp(overflow_jmp, 1);
}

static int recurse(volatile char *prev, int depth)
{
    volatile char pad[1024];
    if (depth > (1 << 30)) /* never: the stack runs out first */
        return 0;
    pad[0] = (char)depth;
    pad[1023] = prev ? prev[0] : 0;
    return recurse(pad, depth + 1) + pad[1023];
}

static void test_altstack(void)
{
    size_t size = 64 * 1024;
    alt_lo = malloc(size);
    alt_hi = alt_lo + size;
    stack_t ss = {.ss_sp = alt_lo, .ss_size = size, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0);
    install(SIGUSR1, on_info, SA_ONSTACK, 0);
    reset();
    raise(SIGUSR1);
    printf("SA_ONSTACK: handler ran %d, SS_ONSTACK reported %d\n", rec.count, rec.on_altstack);
    install(SIGUSR1, on_alt, SA_ONSTACK, 0);
    alt_local_inside = 0;
    raise(SIGUSR1);
    printf("SA_ONSTACK: handler's locals on the alternate stack: %d\n", alt_local_inside);

    install(SIGSEGV, on_alt, SA_ONSTACK, 0);
    alt_local_inside = 0;
    if (sigsetjmp(overflow_jmp, 1) == 0)
        recurse(NULL, 0);
    printf("stack overflow caught on the alternate stack: %d\n", alt_local_inside);
    signal(SIGSEGV, SIG_DFL);
    ss.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&ss, NULL) == 0);
}

/* ---- a timer interrupting a busy loop and a blocking read ---- */

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_timer(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0); /* no SA_RESTART */
    struct itimerval it = {.it_interval = {0, 0}, .it_value = {0, 20000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    volatile unsigned long spins = 0;
    while (!alarms)
        spins++;
    printf("SIGALRM interrupted a busy loop: %d\n", alarms == 1);

    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    char c;
    errno = 0;
    ssize_t r = read(p[0], &c, 1);
    printf("blocking read interrupted: ret %zd errno %s, alarms %d\n", r, errno == EINTR ? "EINTR" : "other",
           alarms);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    install(SIGUSR1, on_info, 0, SIGUSR2);

    reset();
    errno = 77;
    raise(SIGUSR1);
    report("raise(SIGUSR1)");
    printf("  in handler: own signal blocked %d, sa_mask signal blocked %d, errno %d, errno after %d\n",
           rec.blocked_self, rec.blocked_other, rec.errno_in, errno);

    install(SIGUSR2, on_info, SA_NODEFER, 0);
    reset();
    kill(getpid(), SIGUSR2);
    report("kill(self, SIGUSR2)");
    printf("  SA_NODEFER: own signal blocked %d\n", rec.blocked_self);

    install(SIGRTMIN, on_info, 0, 0);
    reset();
    union sigval v = {.sival_int = 4321};
    CHECK(sigqueue(getpid(), SIGRTMIN, v) == 0);
    report("sigqueue(SIGRTMIN)");
    printf("  si_value %d\n", rec.value);

    /* Blocked signals stay pending; standard ones merge, real-time ones queue, lowest first. */
    sigset_t block, old, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGRTMIN);
    sigaddset(&block, SIGRTMIN + 1);
    install(SIGRTMIN + 1, on_info, 0, 0);
    CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    reset();
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigqueue(getpid(), SIGRTMIN + 1, v);
    sigqueue(getpid(), SIGRTMIN, v);
    sigqueue(getpid(), SIGRTMIN, v);
    CHECK(sigpending(&pend) == 0);
    printf("while blocked: delivered %d, pending USR1 %d RTMIN %d RTMIN+1 %d USR2 %d\n", rec.count,
           sigismember(&pend, SIGUSR1), sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGRTMIN + 1),
           sigismember(&pend, SIGUSR2));
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
    printf("after unblock: delivered %d in order", rec.count);
    for (int i = 0; i < norder; i++)
        printf(" %s", order[i] == SIGUSR1 ? "USR1" : order[i] == SIGRTMIN ? "RTMIN" : "RTMIN+1");
    printf("\n");

    /* sigsuspend atomically unblocks and waits. */
    CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);
    reset();
    kill(getpid(), SIGUSR1);
    sigset_t none;
    sigemptyset(&none);
    errno = 0;
    int sr = sigsuspend(&none);
    printf("sigsuspend: ret %d errno %s, handler ran %d\n", sr, errno == EINTR ? "EINTR" : "other", rec.count);
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);

    /* sigwaitinfo takes a blocked pending signal without running the handler. */
    sigset_t w;
    sigemptyset(&w);
    sigaddset(&w, SIGUSR2);
    CHECK(sigprocmask(SIG_BLOCK, &w, &old) == 0);
    reset();
    raise(SIGUSR2);
    siginfo_t si;
    int got = sigwaitinfo(&w, &si);
    printf("sigwaitinfo: got %s code %s, handler ran %d\n", sig_name(got), code_name(si.si_code), rec.count);
    CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);

    /* SA_RESETHAND: one delivery, then the disposition is back to SIG_DFL. */
    install(SIGUSR1, on_info, SA_RESETHAND, 0);
    reset();
    raise(SIGUSR1);
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    printf("SA_RESETHAND: ran %d, now SIG_DFL %d\n", rec.count, now.sa_handler == SIG_DFL);

    /* SIG_IGN: nothing happens. */
    signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1);
    printf("SIG_IGN: still running\n");

    /* The old action comes back from sigaction. */
    struct sigaction prev;
    install(SIGUSR2, on_info, SA_RESTART, 0);
    signal(SIGUSR2, SIG_DFL);
    sigaction(SIGUSR2, NULL, &prev);
    printf("sigaction query: SIG_DFL %d\n", prev.sa_handler == SIG_DFL);
    errno = 0;
    int refused = sigaction(SIGKILL, &prev, NULL) == -1;
    printf("sigaction(SIGKILL) refused: %d EINVAL %d\n", refused, errno == EINVAL);

    test_faults();
    test_altstack();
    test_timer();
    printf("done\n");
    return 0;
}
