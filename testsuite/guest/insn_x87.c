/*
 * x87 instructions at their edges, each result printed as the exact 80-bit value (sign+exponent:mantissa
 * in hex) with the status word (C0-C3, TOP, the exception flags, SF, ES) and the tag word:
 *   - FADD/FSUB/FMUL/FDIV/FSQRT/FRNDINT/FIST under every precision control (24/53/64 bits) and rounding
 *     mode;
 *   - stack overflow (a ninth FLD) and underflow (arithmetic on, storing from and exchanging with empty
 *     registers): IE|SF with C1 telling which, and the indefinite value pushed;
 *   - transcendental and scaling instructions (FSIN FCOS FSINCOS FPTAN FPATAN F2XM1 FYL2X FYL2XP1
 *     FSCALE FSQRT FPREM FPREM1 FXTRACT) on ordinary, huge, tiny, denormal, zero, infinite and NaN
 *     inputs, including FSIN's out-of-range C2 and FPREM's partial remainder;
 *   - FIST/FISTP/FISTTP/FBSTP of values that do not fit (integer indefinite), FCOM/FUCOM/FCOMI/FUCOMI
 *     with NaN, FXAM of every class;
 *   - an unmasked exception: pending after FDIV, delivered as SIGFPE by the next waiting instruction.
 */
#include "insn_common.h"

#include <math.h>

typedef struct {
    uint64_t mant;
    uint16_t se;
} __attribute__((packed)) f80;

static f80 A, B, R0, R1;
static uint16_t CW, SW;
static uint8_t ENV[28];

static void print80(const f80 *v)
{
    printf(" %04x:%016llx", v->se, (unsigned long long)v->mant);
}

static f80 ld(long double x)
{
    f80 v;
    memcpy(&v, &x, 10);
    return v;
}

static f80 raw(uint16_t se, uint64_t mant)
{
    f80 v = {mant, se};
    return v;
}

/* Runs BODY after FNINIT and FLDCW CW (BODY may use %[a] and %[b]); then saves the status word, the
   environment (for the tag word), and pops ST0 and ST1 into R0 and R1. */
#define X87(body)                                                                                     \
    asm volatile("fninit\n\tfldcw %[cw]\n\t" body "\n\tfnstsw %[sw]\n\tfnstenv %[env]\n\t"           \
                 "fstpt %[r0]\n\tfstpt %[r1]\n\tfninit"                                               \
                 : [sw] "=m"(SW), [r0] "=m"(R0), [r1] "=m"(R1), [env] "=m"(ENV)                         \
                 : [cw] "m"(CW), [a] "m"(A), [b] "m"(B)                                               \
                 : "memory", "ax")

static void report(const char *what)
{
    uint16_t tag;
    memcpy(&tag, ENV + 8, 2);
    printf("%-28s sw %04x tag %04x", what, SW, tag);
    print80(&R0);
    print80(&R1);
    printf("\n");
}

static const long double vals[] = {1.0L, -2.5L, 1.0L / 3, 1e300L, 1e-300L, 3.0L, 0x1p-16400L /* denormal */,
                                   0x1.fffffffffffffffep16383L, 7e20L};

static void arith_precision_rounding(void)
{
    static const char *const pcn[] = {"pc24", "pc??", "pc53", "pc64"};
    static const char *const rcn[] = {"near", "down", "up", "zero"};
    for (int pc = 0; pc < 4; pc++) {
        if (pc == 1)
            continue; /* reserved */
        for (int rc = 0; rc < 4; rc++) {
            CW = (uint16_t)(0x037f & ~0x0f00) | (uint16_t)(pc << 8) | (uint16_t)(rc << 10);
            for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
                A = ld(vals[i]);
                B = ld(vals[(i + 2) % (sizeof vals / sizeof vals[0])]);
                char what[64];
#define ONE(name, body)                                                                               \
    X87(body);                                                                                        \
    snprintf(what, sizeof what, "%s %s %s #%zu", name, pcn[pc], rcn[rc], i);                          \
    report(what)
                ONE("fadd", "fldt %[b]\n\tfldt %[a]\n\tfadd %%st(1), %%st");
                ONE("fsub", "fldt %[b]\n\tfldt %[a]\n\tfsub %%st(1), %%st");
                ONE("fmul", "fldt %[b]\n\tfldt %[a]\n\tfmul %%st(1), %%st");
                ONE("fdiv", "fldt %[b]\n\tfldt %[a]\n\tfdiv %%st(1), %%st");
                ONE("fsqrt", "fldt %[a]\n\tfabs\n\tfsqrt");
                ONE("frndint", "fld1\n\tfldt %[a]\n\tfmul %%st(1), %%st\n\tfrndint");
                ONE("fistp", "fldt %[a]\n\tfistpll %[r1]\n\tfld1"); /* R1 is then overwritten: sw shows */
                ONE("fld1+third", "fld1\n\tfldt %[a]\n\tfadd %%st(1), %%st");
            }
        }
    }
    CW = 0x037f;
}

static void stack_faults(void)
{
    CW = 0x037f;
    A = ld(1.5L);
    X87("fld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfldt %[a]"); /* 9th push */
    report("overflow: 9th fld");
    X87("fld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfldpi");
    report("overflow: 9th fldpi");
    X87("fldz\n\tfadd %%st(1), %%st");
    report("underflow: fadd st(1) empty");
    X87("fadd %%st(1), %%st");
    report("underflow: fadd both empty");
    X87("fldz\n\tfxch %%st(3)");
    report("underflow: fxch empty");
    X87("fsqrt");
    report("underflow: fsqrt empty");
    X87("fld1\n\tfstp %%st(0)\n\tfstp %%st(0)");
    report("underflow: fstp empty");
    X87("fld1\n\tffree %%st(0)\n\tfld %%st(0)");
    report("ffree then fld st0");
    X87("fld1\n\tfincstp\n\tfldz");
    report("fincstp then fldz");
    X87("fld1\n\tfdecstp\n\tfdecstp\n\tfld1");
    report("fdecstp twice then fld1");
    CW = 0x037e; /* IE unmasked: no indefinite is written, ES and B are set */
    X87("fld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfnclex");
    report("overflow, IE unmasked, fnclex");
    CW = 0x037f;
}

static const f80 *tvals(size_t *n)
{
    static f80 v[16];
    size_t k = 0;
    v[k++] = ld(0.5L);
    v[k++] = ld(-1.25L);
    v[k++] = ld(3.14159265358979323846264338327950288L);
    v[k++] = ld(1e-10L);
    v[k++] = ld(100.75L);
    v[k++] = ld(0x1p63L);       /* out of range for FSIN/FCOS/FPTAN: C2 set, operand unchanged */
    v[k++] = ld(-0x1p62L);
    v[k++] = ld(0.0L);
    v[k++] = ld(-0.0L);
    v[k++] = raw(0x0000, 0x0000000000000001ull); /* denormal */
    v[k++] = raw(0x7fff, 0x8000000000000000ull); /* +inf */
    v[k++] = raw(0x7fff, 0xc000000000000001ull); /* QNaN */
    v[k++] = raw(0x7fff, 0x8000000000000001ull); /* SNaN */
    v[k++] = raw(0x4000, 0x4000000000000000ull); /* unnormal (integer bit clear): invalid */
    v[k++] = ld(0.75L);
    v[k++] = ld(-0.999L);
    *n = k;
    return v;
}

static void transcendental(void)
{
    size_t n;
    const f80 *v = tvals(&n);
    CW = 0x037f;
    for (size_t i = 0; i < n; i++) {
        A = v[i];
        B = v[(i + 4) % n];
        char what[64];
#define T1(name, body)                                                                                \
    X87(body);                                                                                        \
    snprintf(what, sizeof what, "%s #%zu", name, i);                                                  \
    report(what)
        T1("fsin", "fldt %[a]\n\tfsin");
        T1("fcos", "fldt %[a]\n\tfcos");
        T1("fsincos", "fldt %[a]\n\tfsincos");
        T1("fptan", "fldt %[a]\n\tfptan");
        T1("fpatan", "fldt %[b]\n\tfldt %[a]\n\tfpatan");
        T1("f2xm1", "fldt %[a]\n\tf2xm1");
        T1("fyl2x", "fldt %[b]\n\tfldt %[a]\n\tfyl2x");
        T1("fyl2xp1", "fldt %[b]\n\tfldt %[a]\n\tfyl2xp1");
        T1("fscale", "fldt %[b]\n\tfldt %[a]\n\tfscale");
        T1("fsqrt", "fldt %[a]\n\tfsqrt");
        T1("fprem", "fldt %[b]\n\tfldt %[a]\n\tfprem");
        T1("fprem1", "fldt %[b]\n\tfldt %[a]\n\tfprem1");
        T1("fxtract", "fldt %[a]\n\tfxtract");
        T1("fxam", "fldt %[a]\n\tfxam");
        T1("fcom", "fldt %[b]\n\tfldt %[a]\n\tfcom %%st(1)");
        T1("fucom", "fldt %[b]\n\tfldt %[a]\n\tfucom %%st(1)");
        T1("ftst", "fldt %[a]\n\tftst");
        T1("fchs+fabs", "fldt %[a]\n\tfchs\n\tfldt %[a]\n\tfabs");
    }
    /* FPREM's partial remainder: a huge quotient needs several rounds (C2 set until done). */
    A = ld(0x1p16000L);
    B = ld(3.0L);
    X87("fldt %[b]\n\tfldt %[a]\n\tfprem");
    report("fprem partial 1");
    X87("fldt %[b]\n\tfldt %[a]\n\tfprem\n\tfprem");
    report("fprem partial 2");
    X87("fldt %[b]\n\tfldt %[a]\n\t1: fprem1\n\tfnstsw %%ax\n\ttest $0x400, %%ax\n\tjnz 1b");
    report("fprem1 to the end");
    /* FXAM of an empty register */
    X87("fxam");
    report("fxam empty");
}

/* Integer stores and comparisons that set EFLAGS. */
static void int_and_compare(void)
{
    static const long double big[] = {0x1p63L, -0x1p63L, -0x1p63L - 1, 1e30L, -0.5L, 2.5L, -2.5L, 32767.5L,
                                      32768.0L, -32769.0L, 1e18L, 1e19L};
    CW = 0x037f;
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        A = ld(big[i]);
        int16_t i16 = 0;
        int32_t i32 = 0;
        int64_t i64 = 0, t64 = 0;
        uint8_t bcd[10];
        uint16_t sw16, sw32, sw64, swt, swb;
        asm volatile("fninit\n\tfldt %[a]\n\tfistps %[i16]\n\tfnstsw %[s16]\n\t"
                     "fninit\n\tfldt %[a]\n\tfistpl %[i32]\n\tfnstsw %[s32]\n\t"
                     "fninit\n\tfldt %[a]\n\tfistpll %[i64]\n\tfnstsw %[s64]\n\t"
                     "fninit\n\tfldt %[a]\n\tfisttpll %[t64]\n\tfnstsw %[st]\n\t"
                     "fninit\n\tfldt %[a]\n\tfbstp %[bcd]\n\tfnstsw %[sb]\n\tfninit"
                     : [i16] "=m"(i16), [i32] "=m"(i32), [i64] "=m"(i64), [t64] "=m"(t64), [bcd] "=m"(bcd),
                       [s16] "=m"(sw16), [s32] "=m"(sw32), [s64] "=m"(sw64), [st] "=m"(swt), [sb] "=m"(swb)
                     : [a] "m"(A)
                     : "memory");
        printf("fist #%zu: %04hx/%04x %08x/%04x %016llx/%04x fisttp %016llx/%04x fbstp", i, (uint16_t)i16, sw16,
               (uint32_t)i32, sw32, (unsigned long long)i64, sw64, (unsigned long long)t64, swt);
        for (int k = 9; k >= 0; k--)
            printf("%02x", bcd[k]);
        printf("/%04x\n", swb);
    }
    size_t n;
    const f80 *v = tvals(&n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j += 3) {
            A = v[i];
            B = v[j];
            uint64_t f1, f2;
            uint16_t s1, s2;
            asm volatile("fninit\n\tfldt %[b]\n\tfldt %[a]\n\tfcomi %%st(1), %%st\n\t" PUSHF_TO(f1) "\n\t"
                         "fnstsw %[s1]\n\tfninit\n\tfldt %[b]\n\tfldt %[a]\n\tfucomip %%st(1), %%st\n\t"
                         PUSHF_TO(f2) "\n\tfnstsw %[s2]\n\tfninit"
                         : [f1] "=r"(f1), [f2] "=r"(f2), [s1] "=m"(s1), [s2] "=m"(s2)
                         : [a] "m"(A), [b] "m"(B)
                         : "memory", "cc");
            printf("fcomi #%zu #%zu: %s sw %04x fucomip %s sw %04x\n", i, j, insn_flags_str(f1, FL_ALL), s1,
                   insn_flags_str(f2, FL_ALL), s2);
        }
}

/* Unmasked exceptions: the instruction only records one (ES set); the next waiting instruction (here an
   FWAIT) takes #MF, which Linux reports as SIGFPE at that FWAIT. The handler runs with a clean x87 state. */
#define UNMASKED(body)                                                                                \
    asm volatile("fninit\n\tfldcw %[cw]\n\t" body "\n\tfnstsw %[swb]\n\t" INSN_MARK_AT(8) "8: fwait\n\tfninit" \
                 : [swb] "=m"(sw_before)                                                                \
                 : [cw] "m"(CW), [a] "m"(A), [b] "m"(B)                                               \
                 : "memory", "r11")

static void unmasked(void)
{
    static const struct {
        const char *name;
        uint16_t cw;
    } cases[] = {{"ZE", 0x037b}, {"IE", 0x037e}, {"PE", 0x035f}, {"OE", 0x0377}, {"DE", 0x037d}};
    for (volatile size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        CW = cases[k].cw;
        A = ld(0x1p16000L);
        B = k == 4 ? raw(0x0000, 0x0000000000000001ull) : ld(k == 0 ? 0.0L : k == 1 ? -1.0L : 3.0L);
        static uint16_t sw_before;
        sw_before = 0;
        if (INSN_TRY()) {
            switch (k) {
            case 0: UNMASKED("fldt %[b]\n\tfld1\n\tfdiv %%st(1), %%st"); break;
            case 1: UNMASKED("fldt %[b]\n\tfsqrt"); break;
            case 2: UNMASKED("fldt %[b]\n\tfld1\n\tfdiv %%st(1), %%st"); break;
            case 3: UNMASKED("fldt %[a]\n\tfmul %%st(0), %%st"); break;
            default: UNMASKED("fldt %[b]\n\tfld1\n\tfadd %%st(1), %%st"); break;
            }
            printf("unmasked %s: no signal, sw %04x\n", cases[k].name, sw_before);
        } else {
            uint16_t sw, cw;
            asm volatile("fnstsw %0\n\tfnstcw %1\n\tfninit" : "=m"(sw), "=m"(cw));
            const char *code = insn_fault.code == FPE_FLTDIV   ? "FPE_FLTDIV"
                               : insn_fault.code == FPE_FLTINV ? "FPE_FLTINV"
                               : insn_fault.code == FPE_FLTRES ? "FPE_FLTRES"
                               : insn_fault.code == FPE_FLTOVF ? "FPE_FLTOVF"
                               : insn_fault.code == FPE_FLTUND ? "FPE_FLTUND"
                                                               : "other";
            printf("unmasked %s: %s %s at the fwait %s, sw before %04x, handler's sw %04x cw %04x\n", cases[k].name,
                   insn_sig_name(insn_fault.sig), code, insn_fault.rip == insn_at ? "yes" : "NO", sw_before, sw, cw);
        }
    }
    CW = 0x037f;
}

int main(void)
{
    insn_catch_signals();
    arith_precision_rounding();
    stack_faults();
    transcendental();
    int_and_compare();
    unmasked();
    return 0;
}
