// The lazy-flag computation (x86_cc_compute) against the host CPU: for every CC_OP family and width, run
// the real instruction on random operands, read RFLAGS with PUSHF, and compare with the flags computed
// from what the emitters record for that instruction (cc.h's table).
#include <stdint.h>

#include <gtest/gtest.h>

// cpu.h is C11; its _Static_assert is C++'s static_assert.
#define _Static_assert static_assert
extern "C" {
#include "core/target-x86/cc.h"
#include "core/target-x86/cpu.h"
#include "core/target-x86/cpuid.h"
#include "core/target-x86/tests/harness.h"
}

namespace {

constexpr uint64_t kArith = X86_ARITH_FLAGS;

// Runs `insn` on a (in/out) and b with RFLAGS = fin; returns the arithmetic flags after it. The stack
// pointer steps over the red zone first, since the compiler may keep locals there.
#define HOST_OP2(fn, insn)                                                                        \
    template <typename T>                                                                         \
    uint64_t fn(T &a, T b, uint64_t fin)                                                          \
    {                                                                                             \
        uint64_t f;                                                                               \
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushq %[fin]\n\tpopfq\n\t" insn " %[b], %[a]\n\t" \
                         "pushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"                             \
                         : [a] "+q"(a), [f] "=&r"(f)                                              \
                         : [b] "q"(b), [fin] "r"(fin)                                             \
                         : "cc", "memory");                                                       \
        return f & kArith;                                                                        \
    }

#define HOST_OP1(fn, insn)                                                                        \
    template <typename T>                                                                         \
    uint64_t fn(T &a, uint64_t fin)                                                               \
    {                                                                                             \
        uint64_t f;                                                                               \
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushq %[fin]\n\tpopfq\n\t" insn " %[a]\n\t"    \
                         "pushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"                             \
                         : [a] "+q"(a), [f] "=&r"(f)                                              \
                         : [fin] "r"(fin)                                                         \
                         : "cc", "memory");                                                       \
        return f & kArith;                                                                        \
    }

#define HOST_SHIFT(fn, insn)                                                                      \
    template <typename T>                                                                         \
    uint64_t fn(T &a, uint8_t c, uint64_t fin)                                                    \
    {                                                                                             \
        uint64_t f;                                                                               \
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushq %[fin]\n\tpopfq\n\t" insn " %%cl, %[a]\n\t" \
                         "pushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"                             \
                         : [a] "+q"(a), [f] "=&r"(f)                                              \
                         : "c"(c), [fin] "r"(fin)                                                 \
                         : "cc", "memory");                                                       \
        return f & kArith;                                                                        \
    }

HOST_OP2(host_add, "add")
HOST_OP2(host_adc, "adc")
HOST_OP2(host_sub, "sub")
HOST_OP2(host_sbb, "sbb")
HOST_OP2(host_and, "and")
HOST_OP2(host_xor, "xor")
HOST_OP1(host_inc, "inc")
HOST_OP1(host_dec, "dec")
HOST_OP1(host_neg, "neg")
HOST_SHIFT(host_shl, "shl")
HOST_SHIFT(host_shr, "shr")
HOST_SHIFT(host_sar, "sar")

template <typename T>
constexpr unsigned Bits() { return sizeof(T) * 8; }

template <typename T>
int Op(int family) { return cc_op_sized(family, Bits<T>()); }

// Random operands biased toward the edges, and random input flags.
struct Gen {
    HarnessRng rng{0x5eed};
    uint64_t value() { return harness_rng_value(&rng); }
    uint64_t flags() { return harness_rng_next(&rng) & kArith; }
};

template <typename T>
void CheckArith(Gen &g, int n)
{
    for (int i = 0; i < n; i++) {
        T a = (T)g.value(), b = (T)g.value();
        uint64_t fin = g.flags(), cin = fin & 1;
        T r;
        uint64_t f;

        r = a;
        f = host_add(r, b, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_ADDB), r, b, 0)) << "add " << +a << " " << +b;
        r = a;
        f = host_adc(r, b, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_ADCB), r, b, cin)) << "adc " << +a << " " << +b << " " << cin;
        r = a;
        f = host_sub(r, b, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_SUBB), r, b, a)) << "sub " << +a << " " << +b;
        r = a;
        f = host_sbb(r, b, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_SBBB), r, b, cin)) << "sbb " << +a << " " << +b << " " << cin;
        r = a;
        f = host_and(r, b, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_LOGICB), r, 0, 0)) << "and " << +a << " " << +b;
        r = a;
        f = host_xor(r, b, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_LOGICB), r, 0, 0)) << "xor " << +a << " " << +b;
        r = a;
        f = host_inc(r, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_INCB), r, cin, 0)) << "inc " << +a;
        r = a;
        f = host_dec(r, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_DECB), r, cin, 0)) << "dec " << +a;
        r = a;
        f = host_neg(r, fin);
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_SUBB), r, a, 0)) << "neg " << +a;
    }
}

// Shifts, with what the emitters record: src = the value shifted by count-1 in a 32-bit (64 for 64-bit
// operands) temp, 8/16-bit values sign-extended first for SAR. On an Intel host (whose OF is that of a
// 1-bit shift of the operand) SHL also records the operand in src2, and SHR or-s the operand's top bit
// into src (int-shift.c); AMD ignores src2.
template <typename T>
void CheckShifts(Gen &g, int n)
{
    const unsigned mask = Bits<T>() == 64 ? 63 : 31;
    for (int i = 0; i < n; i++) {
        T a = (T)g.value();
        uint8_t c = (uint8_t)(1 + g.value() % mask);
        uint64_t fin = g.flags();
        T r;
        uint64_t f, pre;
        using W = typename std::conditional<sizeof(T) == 8, uint64_t, uint32_t>::type;
        using SW = typename std::make_signed<W>::type;
        using ST = typename std::make_signed<T>::type;

        r = a;
        f = host_shl(r, c, fin);
        pre = (W)((W)a << (c - 1));
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_SHLB), r, pre, a)) << "shl " << +a << " " << +c;
        r = a;
        f = host_shr(r, c, fin);
        pre = (W)((W)a >> (c - 1));
        if (x86_vendor_intel()) {
            pre |= a & ((T)1 << (Bits<T>() - 1));
        }
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_SARB), r, pre, 0)) << "shr " << +a << " " << +c;
        r = a;
        f = host_sar(r, c, fin);
        pre = (W)((SW)(ST)a >> (c - 1));
        ASSERT_EQ(f, x86_cc_compute(Op<T>(CC_OP_SARB), r, pre, 0)) << "sar " << +a << " " << +c;
    }
}

TEST(IntCc, ArithmeticAllWidths)
{
    Gen g;
    CheckArith<uint8_t>(g, 20000);
    CheckArith<uint16_t>(g, 20000);
    CheckArith<uint32_t>(g, 20000);
    CheckArith<uint64_t>(g, 20000);
}

TEST(IntCc, ShiftsAllWidths)
{
    Gen g;
    CheckShifts<uint8_t>(g, 20000);
    CheckShifts<uint16_t>(g, 20000);
    CheckShifts<uint32_t>(g, 20000);
    CheckShifts<uint64_t>(g, 20000);
}

// MUL/IMUL: only CF and OF are defined.
TEST(IntCc, MultiplyOverflow)
{
    Gen g;
    for (int i = 0; i < 20000; i++) {
        uint64_t a = g.value(), b = g.value(), lo, hi, f;
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\tmulq %[b]\n\tpushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"
                         : "=a"(lo), "=d"(hi), [f] "=&r"(f)
                         : "a"(a), [b] "r"(b)
                         : "cc", "memory");
        uint64_t m = X86_CF | X86_OF;
        ASSERT_EQ(f & m, x86_cc_compute(CC_OP_MULQ, lo, hi, 0) & m);
        int64_t sl;
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\timul %[b], %[a]\n\tpushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"
                         : [a] "=r"(sl), [f] "=&r"(f)
                         : "0"(a), [b] "r"(b)
                         : "cc", "memory");
        __int128 p = (__int128)(int64_t)a * (int64_t)b;
        uint64_t over = (uint64_t)(p >> 64) - (uint64_t)((int64_t)p >> 63);
        ASSERT_EQ(f & m, x86_cc_compute(CC_OP_MULQ, (uint64_t)sl, over, 0) & m);
        // 32-bit IMUL as the emitter records it: the whole product, minus its sign-extended low half
        int64_t p32 = (int64_t)(int32_t)a * (int32_t)b;
        int32_t r32 = (int32_t)a;
        __asm__ volatile("lea -128(%%rsp), %%rsp\n\timul %[b], %[a]\n\tpushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"
                         : [a] "+r"(r32), [f] "=&r"(f)
                         : [b] "r"((int32_t)b)
                         : "cc", "memory");
        ASSERT_EQ(f & m, x86_cc_compute(CC_OP_MULL, (uint64_t)p32, (uint64_t)(p32 - (int32_t)p32), 0) & m);
    }
}

// The EFLAGS op and POPCNT.
TEST(IntCc, EflagsAndPopcnt)
{
    EXPECT_EQ(x86_cc_compute(CC_OP_EFLAGS, 0, 0xffffffff, 0), kArith);
    EXPECT_EQ(x86_cc_compute(CC_OP_POPCNT, 0, 0, 0), (uint64_t)X86_ZF);
    EXPECT_EQ(x86_cc_compute(CC_OP_POPCNT, 0x100, 0, 0), 0u);
}

// x86_get_eflags / x86_set_eflags: arithmetic bits through the lazy state, DF through env->df.
TEST(IntCc, GetSetEflags)
{
    CPUX86State *env = static_cast<CPUX86State *>(aligned_alloc(64, sizeof(CPUX86State)));
    x86_cpu_reset_user(env);
    EXPECT_EQ(x86_get_eflags(env), 0x202u);
    env->cc_op = CC_OP_SUBL;
    env->cc_dst = 0;
    env->cc_src = 5;
    env->cc_src2 = 5;
    EXPECT_EQ(x86_get_eflags(env), 0x202u | X86_ZF | X86_PF);
    x86_set_eflags(env, X86_CF | X86_DF | X86_OF, X86_CF | X86_DF);
    EXPECT_EQ(env->df, -1);
    EXPECT_EQ(x86_get_eflags(env), 0x202u | X86_ZF | X86_PF | X86_CF | X86_DF);
    x86_set_eflags(env, 0, X86_DF | X86_ARITH_FLAGS);
    EXPECT_EQ(env->df, 1);
    EXPECT_EQ(x86_get_eflags(env), 0x202u);
    free(env);
}

}  // namespace
