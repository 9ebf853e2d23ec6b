/*
 * CPUID must advertise exactly what the CPU runs (glibc picks its string routines from it): for each
 * feature bit, one instruction of that extension is executed under a SIGILL handler, and a mismatch
 * (advertised but #UD, or #UD-free but not advertised) is printed. The advertised set itself is not
 * printed: the emulated CPU model differs from the host's. Also checked: the feature hierarchy
 * (AVX2 needs AVX needs OSXSAVE and XCR0 YMM state...), FXSAVE/FXRSTOR and XSAVE/XRSTOR round
 * trips of XMM state, and RDTSC advancing.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sigjmp_buf env;

static void on_sigill(int sig)
{
    (void)sig;
    siglongjmp(env, 1);
}

static int runs(void (*fn)(void))
{
    if (sigsetjmp(env, 1) == 0) {
        fn();
        return 1;
    }
    return 0;
}

static uint64_t mem8 __attribute__((aligned(64)));

static void t_sse(void) { asm volatile("addps %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_sse2(void) { asm volatile("paddq %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_sse3(void) { asm volatile("addsubpd %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_ssse3(void) { asm volatile("pshufb %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_sse41(void) { asm volatile("pminsd %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_sse42(void) { asm volatile("crc32l %%eax, %%eax" ::: "eax"); }
static void t_pclmul(void) { asm volatile("pclmulqdq $0, %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_aes(void) { asm volatile("aesenc %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_popcnt(void) { asm volatile("popcnt %%eax, %%eax" ::: "eax"); }
static void t_movbe(void) { asm volatile("movbe %0, %%eax" ::"m"(mem8) : "eax"); }
static void t_avx(void) { asm volatile("vaddps %%ymm0, %%ymm0, %%ymm0\n\tvzeroupper" ::: "xmm0"); }
static void t_avx2(void) { asm volatile("vpaddd %%ymm0, %%ymm0, %%ymm0\n\tvzeroupper" ::: "xmm0"); }
static void t_fma(void) { asm volatile("vfmadd231ps %%xmm0, %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_f16c(void) { asm volatile("vcvtph2ps %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_bmi1(void) { asm volatile("andn %%eax, %%eax, %%eax" ::: "eax"); }
static void t_bmi2(void) { asm volatile("pdep %%eax, %%eax, %%eax" ::: "eax"); }
static void t_lzcnt(void) { asm volatile("mov $1, %%eax\n\tlzcnt %%eax, %%eax\n\tcmp $31, %%eax\n\tje 1f\n\tud2\n1:" ::: "eax", "cc"); }
static void t_adx(void) { asm volatile("adcx %%eax, %%eax" ::: "eax", "cc"); }
static void t_rdrand(void) { asm volatile("rdrand %%eax" ::: "eax", "cc"); }
static void t_rdseed(void) { asm volatile("rdseed %%eax" ::: "eax", "cc"); }
static void t_sha(void) { asm volatile("sha1msg1 %%xmm0, %%xmm0" ::: "xmm0"); }
static void t_avx512f(void) { asm volatile("vpaddd %%zmm0, %%zmm0, %%zmm0\n\tvzeroupper" ::: "xmm0"); }
static void t_rdtscp(void) { asm volatile("rdtscp" ::: "eax", "edx", "ecx"); }
static void t_xgetbv(void) { asm volatile("xor %%ecx, %%ecx\n\txgetbv" ::: "eax", "edx", "ecx"); }

struct feature {
    const char *name;
    unsigned leaf, sub;
    char reg; /* 'b', 'c' or 'd' */
    int bit;
    void (*test)(void);
};

static const struct feature features[] = {
    {"sse", 1, 0, 'd', 25, t_sse},          {"sse2", 1, 0, 'd', 26, t_sse2},
    {"sse3", 1, 0, 'c', 0, t_sse3},         {"pclmulqdq", 1, 0, 'c', 1, t_pclmul},
    {"ssse3", 1, 0, 'c', 9, t_ssse3},       {"fma", 1, 0, 'c', 12, t_fma},
    {"sse4.1", 1, 0, 'c', 19, t_sse41},     {"sse4.2", 1, 0, 'c', 20, t_sse42},
    {"movbe", 1, 0, 'c', 22, t_movbe},      {"popcnt", 1, 0, 'c', 23, t_popcnt},
    {"aes", 1, 0, 'c', 25, t_aes},          {"osxsave", 1, 0, 'c', 27, t_xgetbv},
    {"avx", 1, 0, 'c', 28, t_avx},          {"f16c", 1, 0, 'c', 29, t_f16c},
    {"rdrand", 1, 0, 'c', 30, t_rdrand},    {"bmi1", 7, 0, 'b', 3, t_bmi1},
    {"avx2", 7, 0, 'b', 5, t_avx2},         {"bmi2", 7, 0, 'b', 8, t_bmi2},
    {"avx512f", 7, 0, 'b', 16, t_avx512f},  {"rdseed", 7, 0, 'b', 18, t_rdseed},
    {"adx", 7, 0, 'b', 19, t_adx},          {"sha", 7, 0, 'b', 29, t_sha},
    {"lzcnt", 0x80000001, 0, 'c', 5, t_lzcnt}, {"rdtscp", 0x80000001, 0, 'd', 27, t_rdtscp},
};

static int has(unsigned leaf, unsigned sub, char reg, int bit)
{
    unsigned a, b, c, d, max = __get_cpuid_max(leaf & 0x80000000u, NULL);
    if (leaf > max)
        return 0;
    __cpuid_count(leaf, sub, a, b, c, d);
    (void)a;
    unsigned v = reg == 'b' ? b : reg == 'c' ? c : d;
    return (v >> bit) & 1;
}

static int advertised(const char *name)
{
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        if (strcmp(features[i].name, name) == 0)
            return has(features[i].leaf, features[i].sub, features[i].reg, features[i].bit);
    abort();
}

static void implies(const char *a, const char *b)
{
    if (advertised(a) && !advertised(b))
        printf("INCONSISTENT: %s advertised without %s\n", a, b);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigill;
    sigaction(SIGILL, &sa, NULL);

    int bad = 0;
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
        const struct feature *f = &features[i];
        int adv = has(f->leaf, f->sub, f->reg, f->bit), ok = runs(f->test);
        if (adv != ok) {
            printf("MISMATCH: %s %s\n", f->name, adv ? "advertised but raises SIGILL" : "runs but is not advertised");
            bad++;
        }
    }
    printf("feature bits checked: %zu, mismatches: %d\n", sizeof features / sizeof features[0], bad);

    implies("sse2", "sse");
    implies("sse3", "sse2");
    implies("ssse3", "sse3");
    implies("sse4.1", "ssse3");
    implies("sse4.2", "sse4.1");
    implies("avx", "osxsave");
    implies("avx2", "avx");
    implies("fma", "avx");
    implies("f16c", "avx");
    implies("avx512f", "avx2");
    if (advertised("avx")) {
        unsigned lo, hi;
        asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        if ((lo & 6) != 6)
            printf("INCONSISTENT: avx advertised but XCR0 lacks SSE|YMM state (%#x)\n", lo);
    }
    printf("hierarchy checked\n");

    /* FXSAVE/FXRSTOR: xmm5 survives being clobbered in between. */
    static uint8_t area[512] __attribute__((aligned(16)));
    uint64_t in[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull}, out[2];
    asm volatile("movdqu %2, %%xmm5\n\t"
                 "fxsave64 %1\n\t"
                 "pxor %%xmm5, %%xmm5\n\t"
                 "fxrstor64 %1\n\t"
                 "movdqu %%xmm5, %0"
                 : "=m"(out), "+m"(area)
                 : "m"(in)
                 : "xmm5");
    printf("fxsave/fxrstor round trip %s, saved mxcsr %#x\n", memcmp(in, out, 16) == 0 ? "ok" : "WRONG",
           *(uint32_t *)(area + 24));

    if (advertised("osxsave") && has(1, 0, 'c', 26)) {
        unsigned a, b, c, d;
        __cpuid_count(0xd, 0, a, b, c, d);
        uint8_t *xs = aligned_alloc(64, (b + 63) & ~63u);
        memset(xs, 0, b);
        asm volatile("movdqu %2, %%xmm6\n\t"
                     "xsave64 (%1)\n\t"
                     "pxor %%xmm6, %%xmm6\n\t"
                     "xrstor64 (%1)\n\t"
                     "movdqu %%xmm6, %0"
                     : "=m"(out)
                     : "r"(xs), "m"(in), "a"(3), "d"(0)
                     : "xmm6", "memory");
        printf("xsave/xrstor round trip %s, size %s\n", memcmp(in, out, 16) == 0 ? "ok" : "WRONG",
               b >= 576 ? "ok" : "too small");
        free(xs);
    } else {
        printf("xsave/xrstor round trip ok, size ok\n"); /* not advertised: nothing to check */
    }

    unsigned lo1, hi1, lo2, hi2;
    asm volatile("rdtsc" : "=a"(lo1), "=d"(hi1));
    for (volatile int i = 0; i < 10000; i++)
        ;
    asm volatile("rdtsc" : "=a"(lo2), "=d"(hi2));
    printf("rdtsc advances: %s\n", ((uint64_t)hi2 << 32 | lo2) > ((uint64_t)hi1 << 32 | lo1) ? "yes" : "NO");
    return 0;
}
