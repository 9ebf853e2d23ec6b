/*
 * Floating point with exactly specified results: SSE scalar and packed double/float arithmetic,
 * sqrt, conversions (including out-of-range cvttsd2si and NaN/inf/denormal inputs), fma, the four
 * rounding modes through fesetround (which sets both MXCSR and the x87 control word), exception flags,
 * and x87 long double arithmetic (+ - * / sqrt, 64-bit mantissa, conversions). Printed in hex
 * (%a) so that every bit is compared.
 */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double vd[] = {1.0, -2.5, 3.0, 1e308, 1e-310, 0.1, 1.0 / 3.0, -0.0, 7.0, 123456789.125};
static volatile float vf[] = {1.0f, -2.5f, 3.0f, 3e38f, 1e-40f, 0.1f, 16777217.0f, -0.0f};
static volatile long double vl[] = {1.0L, -2.5L, 3.0L, 1e4000L, 1e-4940L, 0.1L, 1.0L / 3.0L};

static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
static const char *mode_names[] = {"nearest", "upward", "downward", "towardzero"};

static void print_flags(const char *what)
{
    int f = fetestexcept(FE_ALL_EXCEPT);
    printf("%s flags:%s%s%s%s%s\n", what, f & FE_INEXACT ? " inexact" : "", f & FE_UNDERFLOW ? " underflow" : "",
           f & FE_OVERFLOW ? " overflow" : "", f & FE_DIVBYZERO ? " divbyzero" : "",
           f & FE_INVALID ? " invalid" : "");
}

int main(void)
{
    int nd = sizeof vd / sizeof vd[0], nf = sizeof vf / sizeof vf[0], nl = sizeof vl / sizeof vl[0];

    for (int m = 0; m < 4; m++) {
        fesetround(modes[m]);
        printf("== rounding %s (fegetround ok: %d)\n", mode_names[m], fegetround() == modes[m]);
        for (int i = 0; i < nd; i++)
            for (int j = 0; j < nd; j += 3) {
                double a = vd[i], b = vd[j];
                printf("d %a %a: + %a - %a * %a / %a\n", a, b, a + b, a - b, a * b, a / b);
            }
        for (int i = 0; i < nd; i++)
            printf("d sqrt(%a) = %a rint %a nearbyint %a lrint %ld\n", vd[i], sqrt(fabs(vd[i])), rint(vd[i]),
                   nearbyint(vd[i] * 3.7), lrint(vd[i] > 1e18 ? 0 : vd[i] * 3.7));
        for (int i = 0; i < nf; i++)
            for (int j = 0; j < nf; j += 2) {
                float a = vf[i], b = vf[j];
                printf("f %a %a: + %a * %a / %a\n", (double)a, (double)b, (double)(a + b), (double)(a * b),
                       (double)(a / b));
            }
        for (int i = 0; i < nd; i++)
            printf("d->f %a -> %a\n", vd[i], (double)(float)vd[i]);
        for (int i = 0; i < nl; i++)
            for (int j = 0; j < nl; j += 2) {
                long double a = vl[i], b = vl[j];
                printf("ld %La %La: + %La * %La / %La\n", a, b, a + b, a * b, a / b);
            }
        for (int i = 0; i < nl; i++)
            printf("ld sqrtl(%La) = %La, ->double %a\n", vl[i], sqrtl(fabsl(vl[i])), (double)vl[i]);
        volatile int64_t big = INT64_MAX - 3;
        printf("int64 %lld -> double %a, long double %La, float %a\n", (long long)big, (double)big,
               (long double)big, (double)(float)big);
        printf("fma(0.1, 10, -1) = %a\n", fma(vd[5], 10.0, -1.0));
    }
    fesetround(FE_TONEAREST);

    /* Conversions that truncate, and their out-of-range "integer indefinite" results. */
    volatile double odd[] = {2.5, -2.5, 3.5, 1e19, -1e19, NAN, INFINITY, -0.7, 4294967296.5};
    for (unsigned i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        volatile int64_t q = (int64_t)odd[i];
        volatile int32_t w = (int32_t)odd[i];
        printf("cvtt %a -> %lld %d, llround %lld\n", odd[i], (long long)q, w,
               isfinite(odd[i]) && fabs(odd[i]) < 9e18 ? llround(odd[i]) : 0);
    }

    /* Special values and exception flags. */
    feclearexcept(FE_ALL_EXCEPT);
    volatile double zero = 0.0, one = 1.0, tiny = DBL_MIN;
    volatile double r = one / zero;
    print_flags("1/0");
    feclearexcept(FE_ALL_EXCEPT);
    r = zero / zero;
    printf("0/0 is nan %d, sign %d\n", isnan(r), signbit(r) != 0);
    print_flags("0/0");
    feclearexcept(FE_ALL_EXCEPT);
    r = tiny / 3.0;
    print_flags("DBL_MIN/3");
    printf("DBL_MIN/3 = %a\n", r);
    feclearexcept(FE_ALL_EXCEPT);
    r = DBL_MAX * 2.0 * one;
    print_flags("DBL_MAX*2");
    feclearexcept(FE_ALL_EXCEPT);
    r = sqrt(-one);
    print_flags("sqrt(-1)");
    feclearexcept(FE_ALL_EXCEPT);
    volatile long double lz = 0.0L;
    volatile long double lr = 1.0L / lz;
    print_flags("x87 1/0");
    printf("x87 1/0 = %La\n", lr);
    feclearexcept(FE_ALL_EXCEPT);

    /* Packed SSE through the vectorizer: sum of squares with doubles and floats. */
    static double da[1024];
    static float fa[1024];
    for (int i = 0; i < 1024; i++) {
        da[i] = (i + 1) * 0.001;
        fa[i] = (float)(i % 97) * 0.25f;
    }
    double dsum = 0;
    float fsum = 0;
    for (int i = 0; i < 1024; i++) {
        dsum += da[i] * da[i];
        fsum += fa[i] * fa[i];
    }
    printf("packed sums %a %a\n", dsum, (double)fsum);
    printf("printf: %.17g %.10e %g %Lg %.25Lf\n", 1.0 / 3.0, 6.02214076e23, 1e-5, (long double)vd[6], vl[6]);
    double parsed;
    sscanf("2.718281828459045235360287", "%lf", &parsed);
    printf("strtod: %a\n", parsed);
    return 0;
}
