/*
 * MXCSR's exception flags while floating-point vector code runs inline in translated blocks. The flags an
 * instruction raises are sticky and must be there, exactly, wherever the guest can look: STMXCSR in the
 * same block and after a system call, an FXSAVE/XSAVE image, a signal frame (a fault after the raising
 * instruction, in the same block), the MXCSR a handler returns to, a new thread's MXCSR. And flags cleared
 * by LDMXCSR, FXRSTOR or a signal handler's return must stay cleared. Rounding-mode changes must apply to
 * the very next instruction. The native run is the oracle: everything is printed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static uint32_t get_mxcsr(void)
{
    uint32_t m;
    asm volatile("stmxcsr %0" : "=m"(m));
    return m;
}

static void set_mxcsr(uint32_t m)
{
    asm volatile("ldmxcsr %0" : : "m"(m));
}

/* One block: clear the flags, divide, and read MXCSR back without leaving it. */
static uint32_t divide_in_block(double a, double b, double *q)
{
    uint32_t clean = 0x1f80, out;
    double x = a;
    asm volatile("ldmxcsr %[c]\n\t"
                 "divsd %[b], %[x]\n\t"
                 "stmxcsr %[o]"
                 : [x] "+x"(x), [o] "=m"(out)
                 : [b] "x"(b), [c] "m"(clean));
    *q = x;
    return out;
}

static void same_block(void)
{
    double q;
    static const double cases[][2] = {{1.0, 3.0}, {1.0, 0.0}, {0.0, 0.0}, {1e308, 1e-308}, {1e-308, 1e10}, {6.0, 3.0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t m = divide_in_block(cases[i][0], cases[i][1], &q);
        printf("divsd %g / %g = %a: mxcsr %#x\n", cases[i][0], cases[i][1], q, m);
    }
}

/* Flags raised in a loop of blocks, then a system call, then STMXCSR. */
static void across_syscall(void)
{
    set_mxcsr(0x1f80);
    volatile double acc = 1.0, d = 7.0;
    for (int i = 0; i < 1000; i++) {
        acc = acc / d + 1.0;
    }
    getppid();
    printf("after a loop and a syscall: mxcsr %#x (acc %a)\n", get_mxcsr(), acc);
    set_mxcsr(0x1f80);
    getppid();
    printf("cleared, then a syscall: mxcsr %#x\n", get_mxcsr());
}

/* FXSAVE and XSAVE images right after an inline instruction raised a flag. */
static void save_images(void)
{
    static uint8_t fx[512] __attribute__((aligned(64)));
    set_mxcsr(0x1f80);
    volatile double a = 2.0, b = 3.0;
    volatile double c = a / b;
    (void)c;
    asm volatile("fxsave %0" : "=m"(fx));
    uint32_t m;
    memcpy(&m, fx + 24, 4);
    printf("fxsave image: mxcsr %#x\n", m);
    /* FXRSTOR of a clean image clears them. */
    m = 0x1f80;
    memcpy(fx + 24, &m, 4);
    asm volatile("fxrstor %0" : : "m"(fx));
    printf("after fxrstor of a clean image: mxcsr %#x\n", get_mxcsr());
}

/* A fault in the same block as the raising instruction: the frame's MXCSR has the flag. */
static sigjmp_buf env;
static volatile uint32_t frame_mxcsr, handler_mxcsr;

static void on_segv(int sig, siginfo_t *si, void *uc_)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = uc_;
    frame_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    handler_mxcsr = get_mxcsr();
    siglongjmp(env, 1);
}

static void fault_after_raise(void)
{
    uint8_t *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(env, 1) == 0) {
        uint32_t clean = 0x1f80;
        double x = 1.0, y = 3.0;
        asm volatile("ldmxcsr %[c]\n\t"
                     "divsd %[y], %[x]\n\t"
                     "movb (%[p]), %%al"
                     : [x] "+x"(x)
                     : [y] "x"(y), [c] "m"(clean), [p] "r"(bad)
                     : "rax", "memory");
    }
    printf("fault after divsd: frame mxcsr %#x, handler mxcsr %#x, after siglongjmp %#x\n", frame_mxcsr,
           handler_mxcsr, get_mxcsr());
    signal(SIGSEGV, SIG_DFL);
    munmap(bad, 4096);
}

/* A handler that raises flags and returns: the interrupted code's MXCSR comes back from the frame. */
static void on_usr1(int sig)
{
    (void)sig;
    volatile double a = 1.0, b = 0.0;
    volatile double c = a / b;
    (void)c;
    handler_mxcsr = get_mxcsr();
}

static void handler_returns(void)
{
    signal(SIGUSR1, on_usr1);
    set_mxcsr(0x1f80);
    raise(SIGUSR1);
    printf("handler raised ZE (its mxcsr %#x); after it returns: %#x\n", handler_mxcsr, get_mxcsr());
    volatile double a = 1.0, b = 3.0;
    volatile double c = a / b;
    (void)c;
    raise(SIGUSR1);
    printf("with PE before the signal: %#x\n", get_mxcsr());
}

/* A rounding-mode change applies to the next instruction, and back. */
static void rounding(void)
{
    for (uint32_t rc = 0; rc < 4; rc++) {
        uint32_t m = 0x1f80 | (rc << 13), out;
        double x = 1.0, y = 3.0;
        asm volatile("ldmxcsr %[m]\n\t"
                     "divsd %[y], %[x]\n\t"
                     "stmxcsr %[o]\n\t"
                     "ldmxcsr %[d]"
                     : [x] "+x"(x), [o] "=m"(out)
                     : [y] "x"(y), [m] "m"(m), [d] "m"((uint32_t){0x1f80}));
        printf("rc %u: 1/3 = %a, mxcsr %#x\n", rc, x, out);
    }
    /* FTZ and DAZ. */
    uint32_t m = 0x1f80 | 0x8040, out;
    double x = 1e-310, y = 2.0;
    asm volatile("ldmxcsr %[m]\n\tmulsd %[y], %[x]\n\tstmxcsr %[o]\n\tldmxcsr %[d]"
                 : [x] "+x"(x), [o] "=m"(out)
                 : [y] "x"(y), [m] "m"(m), [d] "m"((uint32_t){0x1f80}));
    printf("daz|ftz: 1e-310 * 2 = %a, mxcsr %#x\n", x, out);
}

static void *thread_main(void *arg)
{
    (void)arg;
    uint32_t start = get_mxcsr();
    volatile double a = 1.0, b = 0.0;
    volatile double c = a / b;
    (void)c;
    printf("thread: mxcsr at start %#x, after 1/0 %#x\n", start, get_mxcsr());
    return NULL;
}

static void threads(void)
{
    set_mxcsr(0x1f80);
    volatile double a = 1.0, b = 3.0;
    volatile double c = a / b;
    (void)c;
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
    printf("main after the thread: %#x\n", get_mxcsr());
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    same_block();
    across_syscall();
    save_images();
    fault_after_raise();
    handler_returns();
    rounding();
    threads();
    return 0;
}
