/*
 * x87 transcendental functions through glibc's long double routines (sinl, cosl, tanl, atan2l, expl,
 * logl, log2l, powl...) that use fsin/fcos/fptan/fpatan/f2xm1/fyl2x/fscale/frndint, plus the x87
 * control word: precision control and rounding set by fesetround. Results are printed with %La, so
 * an emulator must reproduce the hardware's 80-bit results bit for bit.
 */
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

static volatile long double xs[] = {0.5L, 1.0L, -1.25L, 2.0L, 3.14159265358979323846L, 10.0L, 1e-5L, 100.5L};

static void cw_set(uint16_t cw)
{
    asm volatile("fldcw %0" ::"m"(cw));
}

static uint16_t cw_get(void)
{
    uint16_t cw;
    asm volatile("fnstcw %0" : "=m"(cw));
    return cw;
}

int main(void)
{
    int n = sizeof xs / sizeof xs[0];
    printf("initial x87 control word %#x\n", cw_get());
    for (int i = 0; i < n; i++) {
        long double x = xs[i];
        printf("x=%La\n", x);
        printf("  sinl %La cosl %La tanl %La\n", sinl(x), cosl(x), tanl(x));
        printf("  atanl %La atan2l %La\n", atanl(x), atan2l(x, 3.0L));
        printf("  expl %La exp2l %La expm1l %La\n", expl(x), exp2l(x), expm1l(x));
        printf("  logl %La log2l %La log10l %La log1pl %La\n", logl(fabsl(x)), log2l(fabsl(x)),
               log10l(fabsl(x)), log1pl(fabsl(x)));
        printf("  powl(x,1.5) %La powl(1.5,x) %La\n", powl(fabsl(x), 1.5L), powl(1.5L, x));
        printf("  rintl %La floorl %La ceill %La truncl %La\n", rintl(x * 3.3L), floorl(x * 3.3L),
               ceill(x * 3.3L), truncl(x * 3.3L));
        printf("  fmodl %La remainderl %La scalbnl %La\n", fmodl(x, 0.7L), remainderl(x, 0.7L),
               scalbnl(x, 100));
    }

    /* Precision control: with PC=double (cw 0x27f), 1/3 is rounded to 53 bits inside the x87. */
    volatile long double one = 1.0L, three = 3.0L;
    uint16_t saved = cw_get();
    cw_set((saved & ~0x300) | 0x200);
    long double third53 = one / three;
    cw_set((saved & ~0x300) | 0x000);
    long double third24 = one / three;
    cw_set(saved);
    long double third64 = one / three;
    printf("PC 53: %La\nPC 24: %La\nPC 64: %La\n", third53, third24, third64);

    static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    for (int m = 0; m < 4; m++) {
        fesetround(modes[m]);
        printf("round %d: cw %#x 1/3 %La 2/3 %La rintl(2.5) %La lrintl(-2.5) %ld sqrtl(2) %La\n", m, cw_get(),
               one / three, -2.0L / three, rintl((long double)2.5L + one - one), lrintl(-2.5L * one),
               sqrtl(2.0L * one));
    }
    fesetround(FE_TONEAREST);

    /* fxam / fprem / fxtract through their library wrappers. */
    int e;
    long double mant = frexpl(1234.5678L, &e);
    printf("frexpl %La %d, logbl %La, ilogbl %d\n", mant, e, logbl(1234.5678L), ilogbl(1e-4000L));
    printf("classify: %d %d %d %d\n", fpclassify(1e-4940L), fpclassify(1.0L / 0.0L), fpclassify(0.0L),
           fpclassify(xs[0]));
    return 0;
}
