/*
 * MXCSR at work: every rounding mode for add/mul/div/sqrt and for the conversions, the conversions of
 * values that do not fit (NaN, +-inf, huge, just past INT_MIN/INT_MAX -> the integer indefinite
 * 0x80000000 / 0x8000000000000000 with IE set), float<->double narrowing and widening of NaN/denormal/
 * huge values, and unmasked SIMD exceptions: #XM is a fault, so SIGFPE (FPE_FLTINV/DIV/OVF/UND/RES)
 * arrives at the instruction itself with its destination unchanged and the flags in the signal frame's
 * MXCSR. Also LDMXCSR of reserved bits (#GP: SIGSEGV) and the MXCSR value after each step.
 */
#include "insn_common.h"

static uint32_t MX;

static const double dvals[] = {1.5, 2.5, -2.5, -1.5, 0.49999999999999994, 2147483647.5, 2147483648.0, -2147483648.5,
                               -2147483649.0, 9223372036854775807.0, 9.2233720368547748e18, -9223372036854775808.0,
                               -9.2233720368547779e18, 1e300, -1e300, 3.4028235677973366e38, 1e-310, 0.0,
                               __builtin_inf(), -__builtin_inf(), __builtin_nan("")};

#define RC(m) (0x1f80 | ((m) << 13))

static void conversions(void)
{
    for (int rc = 0; rc < 4; rc++)
        for (size_t i = 0; i < sizeof dvals / sizeof dvals[0]; i++) {
            double d = dvals[i];
            float f = (float)d;
            uint32_t m[10];
            int32_t i32a, i32b, i32c, i32d;
            int64_t i64a, i64b, i64c, i64d;
            uint64_t dq;
            float fn;
            for (int k = 0; k < 10; k++)
                m[k] = RC(rc);
#define CV(insn, out, in, idx)                                                                        \
    asm volatile("ldmxcsr %[mx]\n\t" insn " %[x], %[o]\n\tstmxcsr %[mx]" : [o] "=r"(out), [mx] "+m"(m[idx]) : [x] "x"(in))
            CV("cvtsd2si", i32a, d, 0);
            CV("cvttsd2si", i32b, d, 1);
            CV("cvtsd2si", i64a, d, 2);
            CV("cvttsd2si", i64b, d, 3);
            CV("cvtss2si", i32c, f, 4);
            CV("cvttss2si", i32d, f, 5);
            CV("cvtss2si", i64c, f, 6);
            CV("cvttss2si", i64d, f, 7);
            asm volatile("ldmxcsr %[mx]\n\tmovq %[x], %%xmm0\n\tcvtpd2dq %%xmm0, %%xmm1\n\tmovq %%xmm1, %[o]\n\tstmxcsr %[mx]"
                         : [o] "=r"(dq), [mx] "+m"(m[8])
                         : [x] "r"(d)
                         : "xmm0", "xmm1");
            asm volatile("ldmxcsr %[mx]\n\tcvtsd2ss %[x], %[o]\n\tstmxcsr %[mx]" : [o] "=x"(fn), [mx] "+m"(m[9]) : [x] "x"(d));
            uint32_t fbits;
            memcpy(&fbits, &fn, 4);
            uint64_t dbits;
            memcpy(&dbits, &d, 8);
            printf("rc%d %016llx: sd2si %x/%x %x/%x q %llx/%x %llx/%x ss2si %x/%x %x/%x q %llx/%x %llx/%x pd2dq %llx/%x"
                   " sd2ss %08x/%x\n",
                   rc, (unsigned long long)dbits, (uint32_t)i32a, m[0], (uint32_t)i32b, m[1], (unsigned long long)i64a, m[2],
                   (unsigned long long)i64b, m[3], (uint32_t)i32c, m[4], (uint32_t)i32d, m[5], (unsigned long long)i64c, m[6],
                   (unsigned long long)i64d, m[7], (unsigned long long)dq, m[8], fbits, m[9]);
        }
    /* integer -> float: rounding of values that do not fit the significand */
    static const int64_t ints[] = {16777217, -16777217, 9007199254740993ll, -9007199254740993ll, INT64_MAX, INT64_MIN,
                                   0x7fffffc0ll, 3};
    for (int rc = 0; rc < 4; rc++)
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
            uint32_t m1 = RC(rc), m2 = RC(rc), m3 = RC(rc), m4 = RC(rc);
            float f1, f2;
            double d1, d2;
            asm volatile("ldmxcsr %[m]\n\tcvtsi2ssq %[x], %[o]\n\tstmxcsr %[m]" : [o] "=x"(f1), [m] "+m"(m1) : [x] "r"(ints[i]));
            asm volatile("ldmxcsr %[m]\n\tcvtsi2ssl %k[x], %[o]\n\tstmxcsr %[m]" : [o] "=x"(f2), [m] "+m"(m2) : [x] "r"(ints[i]));
            asm volatile("ldmxcsr %[m]\n\tcvtsi2sdq %[x], %[o]\n\tstmxcsr %[m]" : [o] "=x"(d1), [m] "+m"(m3) : [x] "r"(ints[i]));
            asm volatile("ldmxcsr %[m]\n\tcvtsi2sdl %k[x], %[o]\n\tstmxcsr %[m]" : [o] "=x"(d2), [m] "+m"(m4) : [x] "r"(ints[i]));
            uint32_t b1, b2;
            uint64_t b3, b4;
            memcpy(&b1, &f1, 4);
            memcpy(&b2, &f2, 4);
            memcpy(&b3, &d1, 8);
            memcpy(&b4, &d2, 8);
            printf("rc%d int %llx: si2ssq %08x/%x si2ssl %08x/%x si2sdq %016llx/%x si2sdl %016llx/%x\n", rc,
                   (unsigned long long)ints[i], b1, m1, b2, m2, (unsigned long long)b3, m3, (unsigned long long)b4, m4);
        }
    /* packed float -> int32, float <-> double packed, with specials in every lane */
    static const uint32_t fl[8] = {0x4f000000 /* 2^31 */, 0xcf000000 /* -2^31 */, 0xcf000001, 0x7fc00000,
                                   0xff800000, 0x3fc00000 /* 1.5 */, 0x00000001, 0x7f7fffff};
    for (int rc = 0; rc < 4; rc++) {
        uint32_t a[4], b[4], c[4], d[4], m1 = RC(rc), m2 = RC(rc), m3 = RC(rc), m4 = RC(rc);
        asm volatile("ldmxcsr %[m]\n\tmovdqu %[x], %%xmm0\n\tcvtps2dq %%xmm0, %%xmm1\n\tmovdqu %%xmm1, %[o]\n\tstmxcsr %[m]"
                     : [o] "=m"(a), [m] "+m"(m1) : [x] "m"(fl) : "xmm0", "xmm1");
        asm volatile("ldmxcsr %[m]\n\tmovdqu %[x], %%xmm0\n\tcvttps2dq %%xmm0, %%xmm1\n\tmovdqu %%xmm1, %[o]\n\tstmxcsr %[m]"
                     : [o] "=m"(b), [m] "+m"(m2) : [x] "m"(fl[4]) : "xmm0", "xmm1");
        asm volatile("ldmxcsr %[m]\n\tmovdqu %[x], %%xmm0\n\tcvtps2pd %%xmm0, %%xmm1\n\tcvtpd2ps %%xmm1, %%xmm2\n\t"
                     "movdqu %%xmm2, %[o]\n\tstmxcsr %[m]"
                     : [o] "=m"(c), [m] "+m"(m3) : [x] "m"(fl[2]) : "xmm0", "xmm1", "xmm2");
        asm volatile("ldmxcsr %[m]\n\tvmovdqu %[x], %%ymm0\n\tvcvtps2dq %%ymm0, %%ymm1\n\tvextracti128 $1, %%ymm1, %%xmm2\n\t"
                     "vmovdqu %%xmm2, %[o]\n\tstmxcsr %[m]\n\tvzeroupper"
                     : [o] "=m"(d), [m] "+m"(m4) : [x] "m"(fl) : "xmm0", "xmm1", "xmm2");
        printf("rc%d ps2dq %08x %08x %08x %08x/%x tps2dq %08x %08x %08x %08x/%x ps2pd2ps %08x %08x %08x %08x/%x "
               "vps2dq hi %08x %08x %08x %08x/%x\n",
               rc, a[0], a[1], a[2], a[3], m1, b[0], b[1], b[2], b[3], m2, c[0], c[1], c[2], c[3], m3, d[0], d[1], d[2],
               d[3], m4);
    }
}

/* add/mul/div/sqrt of inexact values under each rounding mode, single and double. */
static void rounding(void)
{
    static const double ds[] = {1.0, 3.0, -3.0, 1e-320, 0x1.fffffffffffffp1023, 7.0, -0.1};
    size_t n = sizeof ds / sizeof ds[0];
    for (int rc = 0; rc < 4; rc++)
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double a = ds[i], b = ds[j], r[4];
                float fa = (float)a, fb = (float)b, fr[4];
                uint32_t m[8];
                for (int k = 0; k < 8; k++)
                    m[k] = RC(rc);
#define AR(insn, out, X_, Y_, idx)                                                                     \
    do {                                                                                               \
        __typeof__(out) t_ = X_;                                                                       \
        asm volatile("ldmxcsr %[m]\n\t" insn " %[y], %[t]\n\tstmxcsr %[m]" : [t] "+x"(t_), [m] "+m"(m[idx]) : [y] "x"(Y_)); \
        out = t_;                                                                                      \
    } while (0)
                AR("addsd", r[0], a, b, 0);
                AR("mulsd", r[1], a, b, 1);
                AR("divsd", r[2], a, b, 2);
                AR("sqrtsd", r[3], a, b, 3);
                AR("addss", fr[0], fa, fb, 4);
                AR("mulss", fr[1], fa, fb, 5);
                AR("divss", fr[2], fa, fb, 6);
                AR("sqrtss", fr[3], fa, fb, 7);
                uint64_t rb[4];
                uint32_t fb2[4];
                memcpy(rb, r, sizeof rb);
                memcpy(fb2, fr, sizeof fb2);
                printf("rc%d %zu,%zu: sd %llx/%x %llx/%x %llx/%x %llx/%x ss %x/%x %x/%x %x/%x %x/%x\n", rc, i, j,
                       (unsigned long long)rb[0], m[0], (unsigned long long)rb[1], m[1], (unsigned long long)rb[2], m[2],
                       (unsigned long long)rb[3], m[3], fb2[0], m[4], fb2[1], m[5], fb2[2], m[6], fb2[3], m[7]);
            }
}

/* Unmasked exceptions: #XM at the instruction, destination unchanged. */
static void unmasked(void)
{
    static const struct {
        const char *name;
        uint32_t mxcsr;
        uint32_t a, b; /* xmm0 = a (all lanes), xmm1 = b */
        int op;        /* 0 addps, 1 divps, 2 mulps, 3 sqrtps(b) */
    } cases[] = {
        {"IE snan", 0x1f00, 0x3f800000, 0x7f800001, 0}, {"IE inf-inf", 0x1f00, 0x7f800000, 0xff800000, 0},
        {"ZE", 0x1d80, 0x3f800000, 0x00000000, 1},       {"OE", 0x1b80, 0x7f000000, 0x7f000000, 2},
        {"UE", 0x1780, 0x00800000, 0x3e800000, 2},       {"PE", 0x0f80, 0x3f800000, 0x40400000, 1},
        {"DE", 0x1e80, 0x3f800000, 0x00000001, 0},       {"IE sqrt(-1)", 0x1f00, 0, 0xbf800000, 3},
        {"masked IE", 0x1f80, 0x3f800000, 0x7f800001, 0}, {"OE masked, PE unmasked", 0x0f80, 0x7f000000, 0x7f000000, 2},
    };
    for (volatile size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint32_t a[4], b[4];
        static uint32_t r[4];
        for (int i = 0; i < 4; i++) {
            a[i] = cases[k].a;
            b[i] = cases[k].b;
        }
        MX = cases[k].mxcsr;
        if (INSN_TRY()) {
#define XM(insn)                                                                                       \
    asm volatile("movdqu %[a], %%xmm0\n\tmovdqu %[b], %%xmm1\n\tldmxcsr %[mx]\n\t" INSN_MARK_AT(8)     \
                 "8: " insn " %%xmm1, %%xmm0\n\tstmxcsr %[mx]\n\tmovdqu %%xmm0, %[r]\n\tldmxcsr %[dflt]"   \
                 : [r] "=m"(r), [mx] "+m"(MX)                                                          \
                 : [a] "m"(a), [b] "m"(b), [dflt] "m"((uint32_t){0x1f80})                             \
                 : "xmm0", "xmm1", "r11")
            switch (cases[k].op) {
            case 0: XM("addps"); break;
            case 1: XM("divps"); break;
            case 2: XM("mulps"); break;
            default: XM("sqrtps"); break;
            }
            printf("%-22s no signal: %08x mxcsr %x\n", cases[k].name, r[0], MX);
        } else {
            uint32_t now;
            asm volatile("stmxcsr %0" : "=m"(now));
            const char *code = insn_fault.code == FPE_FLTDIV   ? "FPE_FLTDIV"
                               : insn_fault.code == FPE_FLTINV ? "FPE_FLTINV"
                               : insn_fault.code == FPE_FLTRES ? "FPE_FLTRES"
                               : insn_fault.code == FPE_FLTOVF ? "FPE_FLTOVF"
                               : insn_fault.code == FPE_FLTUND ? "FPE_FLTUND"
                                                               : "other";
            printf("%-22s %s %s rip %s si_addr %s frame mxcsr %x xmm0 %08x %08x handler mxcsr %x\n", cases[k].name,
                   insn_sig_name(insn_fault.sig), code, insn_fault.rip == insn_at ? "ok" : "WRONG",
                   insn_fault.addr == insn_at ? "ok" : "WRONG", insn_fault.mxcsr, insn_fault.xmm0[0], insn_fault.xmm0[3],
                   now);
            MX = 0x1f80;
            asm volatile("ldmxcsr %0" ::"m"(MX));
        }
    }
    /* LDMXCSR with a reserved bit set: #GP */
    MX = 0x11f80;
    if (INSN_TRY()) {
        asm volatile(INSN_MARK_AT(8) "8: ldmxcsr %0" ::"m"(MX) : "r11");
        printf("ldmxcsr reserved bit: no fault\n");
    } else {
        printf("ldmxcsr reserved bit: %s rip %s\n", insn_sig_name(insn_fault.sig), insn_fault.rip == insn_at ? "ok" : "WRONG");
    }
    MX = 0x1f80;
    asm volatile("ldmxcsr %0" ::"m"(MX));
}

int main(void)
{
    insn_catch_signals();
    conversions();
    rounding();
    unmasked();
    return 0;
}
