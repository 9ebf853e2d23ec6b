/*
 * SSE and AVX floating point on special operands: every pair of {QNaN, SNaN (both signs, distinct
 * payloads), +-inf, +-0, +-1, +-denormal, +-max} through add/sub/mul/div/min/max/sqrt/cmp/comiss at
 * single and double precision, packed and scalar, legacy (destructive) and VEX (three-operand, 256-bit)
 * encodings. Shows which NaN propagates (first operand, second, quieted), MIN/MAX returning the second
 * operand for NaN and for +-0, the scalar forms keeping the upper lanes, and the MXCSR flags raised;
 * each with DAZ and FTZ clear and set (denormal inputs read as zero, tiny results flushed).
 */
#include "insn_common.h"

typedef struct {
    uint32_t w[8];
} v256;

static uint32_t MX;

#define SSE2OP(insn)                                                                                  \
    asm volatile("ldmxcsr %[mx]\n\tmovdqu %[a], %%xmm0\n\tmovdqu %[b], %%xmm1\n\t" insn               \
                 " %%xmm1, %%xmm0\n\tmovdqu %%xmm0, %[r]\n\tstmxcsr %[mx]"                            \
                 : [r] "+m"(*r), [mx] "+m"(MX)                                                        \
                 : [a] "m"(*a), [b] "m"(*b)                                                           \
                 : "xmm0", "xmm1")
#define AVXOP(insn)                                                                                   \
    asm volatile("ldmxcsr %[mx]\n\tvmovdqu %[a], %%ymm0\n\tvmovdqu %[b], %%ymm1\n\tvpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t" \
                 insn " %%ymm1, %%ymm0, %%ymm2\n\tvmovdqu %%ymm2, %[r]\n\tstmxcsr %[mx]\n\tvzeroupper"        \
                 : [r] "+m"(*r), [mx] "+m"(MX)                                                        \
                 : [a] "m"(*a), [b] "m"(*b)                                                           \
                 : "xmm0", "xmm1", "xmm2")
#define AVXSCALAR(insn)                                                                               \
    asm volatile("ldmxcsr %[mx]\n\tvmovdqu %[a], %%ymm0\n\tvmovdqu %[b], %%ymm1\n\tvpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t" \
                 insn " %%xmm1, %%xmm0, %%xmm2\n\tvmovdqu %%ymm2, %[r]\n\tstmxcsr %[mx]\n\tvzeroupper"        \
                 : [r] "+m"(*r), [mx] "+m"(MX)                                                        \
                 : [a] "m"(*a), [b] "m"(*b)                                                           \
                 : "xmm0", "xmm1", "xmm2")

#define OPS(X)                                                                                        \
    X(addps, SSE2OP) X(subps, SSE2OP) X(mulps, SSE2OP) X(divps, SSE2OP) X(minps, SSE2OP)              \
    X(maxps, SSE2OP) X(sqrtps, SSE2OP) X(addss, SSE2OP) X(minss, SSE2OP) X(maxss, SSE2OP)             \
    X(sqrtss, SSE2OP) X(addpd, SSE2OP) X(mulpd, SSE2OP) X(divpd, SSE2OP) X(minpd, SSE2OP)             \
    X(maxpd, SSE2OP) X(sqrtpd, SSE2OP) X(addsd, SSE2OP) X(minsd, SSE2OP) X(maxsd, SSE2OP)             \
    X(haddps, SSE2OP) X(addsubpd, SSE2OP) X(rcpps, SSE2OP) X(rsqrtps, SSE2OP)                         \
    X(vaddps, AVXOP) X(vmulps, AVXOP) X(vminps, AVXOP) X(vmaxps, AVXOP) X(vdivpd, AVXOP)              \
    X(vminpd, AVXOP) X(vmaxpd, AVXOP) X(vsubpd, AVXOP) X(vaddss, AVXSCALAR) X(vminss, AVXSCALAR)      \
    X(vmaxsd, AVXSCALAR) X(vsqrtsd, AVXSCALAR) X(vfmadd231ps, AVXOP) X(vfnmsub213pd, AVXOP)

#define DEF(name, form) static void op_##name(const v256 *a, const v256 *b, v256 *r) { form(#name); }
OPS(DEF)
struct op {
    const char *name;
    void (*fn)(const v256 *, const v256 *, v256 *);
};
#define ROW(name, form) {#name, op_##name},
static const struct op ops[] = {OPS(ROW)};

static const uint32_t sp[] = {0x7fc00001, 0xffc00002, 0x7f800003, 0xff800004, 0x7f800000, 0xff800000,
                              0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x00000005, 0x807fffff,
                              0x7f7fffff, 0x00800000};
static const uint64_t dp[] = {0x7ff8000000000001ull, 0xfff8000000000002ull, 0x7ff0000000000003ull,
                              0xfff0000000000004ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
                              0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
                              0xbff0000000000000ull, 0x0000000000000007ull, 0x800fffffffffffffull,
                              0x7fefffffffffffffull, 0x0010000000000000ull};
#define NSP (sizeof sp / sizeof sp[0])

/* The op is single precision unless its name says pd/sd. */
static int is_double(const char *n)
{
    size_t l = strlen(n);
    return n[l - 1] == 'd' && (n[l - 2] == 'p' || n[l - 2] == 's');
}

int main(void)
{
    static const uint32_t mxcsrs[] = {0x1f80, 0x1fc0 /* DAZ */, 0x9f80 /* FTZ */, 0x9fc0};
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        int dbl = is_double(ops[o].name);
        for (size_t m = 0; m < 4; m++) {
            /* All (i, j) pairs, packed 8 floats or 4 doubles per 256-bit vector. */
            int vex256 = ops[o].name[0] == 'v' && ops[o].fn != NULL && !strstr(ops[o].name, "ss") &&
                         !strstr(ops[o].name, "sd");
            size_t per = (dbl ? 2 : 4) * (vex256 ? 2 : 1), total = NSP * NSP;
            for (size_t base = 0; base < total; base += per) {
                v256 a, b, r;
                memset(&a, 0, sizeof a);
                memset(&b, 0, sizeof b);
                for (size_t k = 0; k < per; k++) {
                    size_t p = (base + k) % total, i = p / NSP, j = p % NSP;
                    if (dbl) {
                        memcpy(&a.w[2 * k], &dp[i], 8);
                        memcpy(&b.w[2 * k], &dp[j], 8);
                    } else {
                        a.w[k] = sp[i];
                        b.w[k] = sp[j];
                    }
                }
                MX = mxcsrs[m];
                memset(&r, 0xa5, sizeof r); /* what the legacy (128-bit) forms leave above */
                ops[o].fn(&a, &b, &r);
                printf("%s mx%04x #%zu:", ops[o].name, mxcsrs[m], base);
                for (int k = 7; k >= 0; k--)
                    printf("%s%08x", k == 3 ? " | " : " ", r.w[k]);
                printf(" -> mx%04x\n", MX);
            }
        }
    }
    /* COMISS/UCOMISS: flags for every pair and the invalid flag (SNaN for both, QNaN for COMISS). */
    for (size_t i = 0; i < NSP; i++)
        for (size_t j = 0; j < NSP; j++) {
            uint64_t f1, f2;
            uint32_t m1 = 0x1f80, m2 = 0x1f80;
            asm volatile("ldmxcsr %[m1]\n\tmovd %[a], %%xmm0\n\tmovd %[b], %%xmm1\n\tcomiss %%xmm1, %%xmm0\n\t" PUSHF_TO(f1)
                         "\n\tstmxcsr %[m1]\n\tldmxcsr %[m2]\n\tucomiss %%xmm1, %%xmm0\n\t" PUSHF_TO(f2) "\n\tstmxcsr %[m2]"
                         : [f1] "=r"(f1), [f2] "=r"(f2), [m1] "+m"(m1), [m2] "+m"(m2)
                         : [a] "r"(sp[i]), [b] "r"(sp[j])
                         : "xmm0", "xmm1", "cc");
            printf("comiss %08x %08x: %s mx%04x ucomiss %s mx%04x\n", sp[i], sp[j], insn_flags_str(f1, FL_ALL), m1,
                   insn_flags_str(f2, FL_ALL), m2);
        }
    MX = 0x1f80;
    asm volatile("ldmxcsr %0" ::"m"(MX));
    return 0;
}
