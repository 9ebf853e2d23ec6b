// CPU-state and guest memory accesses, control flow inside a block, and helper calls through libffi.
#include <gtest/gtest.h>

#include <cstring>

#include "core/tcg/tests/fake-target.h"

extern "C" {
#include "core/tcg/interp.h"
}

namespace {

TEST(InterpMem, StateLoadsAndStoresEveryMemOp)
{
    FakeCPU *cpu = fake_cpu_new();
    const uint64_t pattern = 0x8182838485868788ULL;
    struct {
        TCGMemOp mo;
        uint64_t i64, i32;   // the load's result at each width
    } loads[] = {
        {MO_8, 0x88, 0x88},
        {MO_S8, 0xffffffffffffff88ULL, 0xffffff88},
        {MO_16, 0x8788, 0x8788},
        {MO_S16, 0xffffffffffff8788ULL, 0xffff8788},
        {MO_32, 0x85868788, 0x85868788},
        {MO_S32, 0xffffffff85868788ULL, 0x85868788},
        {MO_64, pattern, 0x85868788},
    };
    for (auto &l : loads) {
        for (int t = 0; t < 2; t++) {
            cpu->scratch[0] = pattern;
            cpu->r[0] = 0;
            fake_run_ir(
                cpu,
                [&](TCGContext *s) {
                    tcg_gen_ld(s, (TCGType)t, l.mo, fake_r[0], TCG_TEMP_ENV, FAKE_OFF(scratch));
                    tcg_gen_exit_tb(s, TCG_EXIT_HALT);
                },
                t == 1);
            EXPECT_EQ(cpu->r[0], t ? l.i64 : l.i32) << "mo " << l.mo << " type " << t;
        }
    }
    // Stores write exactly their size.
    const uint64_t sizes[][2] = {{MO_8, 0x11111111111111ffULL}, {MO_16, 0x111111111111ffeeULL},
                                 {MO_32, 0x11111111ffeeddccULL}, {MO_64, 0x0123456789abcdefULL}};
    for (auto &sz : sizes) {
        cpu->scratch[1] = 0x1111111111111111ULL;
        cpu->r[1] = sz[0] == MO_64 ? 0x0123456789abcdefULL : 0x01234567ffeeddccULL;
        if (sz[0] == MO_8) cpu->r[1] = 0x77ff;
        if (sz[0] == MO_16) cpu->r[1] = 0x77ffee;
        fake_run_ir(
            cpu,
            [&](TCGContext *s) {
                tcg_gen_st(s, (TCGMemOp)sz[0], fake_r[1], TCG_TEMP_ENV, FAKE_OFF(scratch) + 8);
                tcg_gen_exit_tb(s, TCG_EXIT_HALT);
            },
            false);
        EXPECT_EQ(cpu->scratch[1], sz[1]) << "size " << sz[0];
    }
    fake_cpu_free(cpu);
}

TEST(InterpMem, GuestAccessIsDirectInUserMode)
{
    FakeCPU *cpu = fake_cpu_new();
    alignas(16) uint8_t guest[64];
    for (int i = 0; i < 64; i++) {
        guest[i] = (uint8_t)(0xa0 + i);
    }
    cpu->r[0] = (uint64_t)(uintptr_t)(guest + 3);   // unaligned on purpose
    cpu->r[1] = 0x1122334455667788ULL;
    cpu->r[2] = (uint64_t)(uintptr_t)(guest + 32);
    cpu->scratch[2] = 0x0706050403020100ULL;
    cpu->scratch[3] = 0x0f0e0d0c0b0a0908ULL;
    for (int opt = 0; opt < 2; opt++) {
        fake_run_ir(
            cpu,
            [&](TCGContext *s) {
                tcg_gen_guest_ld(s, TCG_I64, MO_S16, fake_r[3], fake_r[0]);
                tcg_gen_guest_ld(s, TCG_I32, MO_S8, fake_r[4], fake_r[0]);
                tcg_gen_guest_ld(s, TCG_I64, MO_64, fake_r[5], fake_r[0]);
                tcg_gen_guest_st(s, MO_32, fake_r[1], fake_r[2]);
                tcg_gen_guest_ld128(s, FAKE_OFF(scratch), fake_r[0]);
                TCGTemp a = tcg_temp_new(s);
                tcg_gen_add(s, TCG_I64, a, fake_r[2], tcg_const(s, 8));
                tcg_gen_guest_st128(s, FAKE_OFF(scratch) + 16, a);
                tcg_gen_exit_tb(s, TCG_EXIT_HALT);
            },
            opt);
        EXPECT_EQ(cpu->r[3], 0xffffffffffffa4a3ULL);
        EXPECT_EQ(cpu->r[4], 0xffffffa3ULL);
        EXPECT_EQ(cpu->r[5], 0xaaa9a8a7a6a5a4a3ULL);
        uint32_t w;
        memcpy(&w, guest + 32, 4);
        EXPECT_EQ(w, 0x55667788u);
        EXPECT_EQ(guest[36], 0xa0 + 36);
        EXPECT_EQ(cpu->scratch[0], 0xaaa9a8a7a6a5a4a3ULL);
        EXPECT_EQ(cpu->scratch[1], 0xb2b1b0afaeadacabULL);
        for (int i = 0; i < 16; i++) {
            EXPECT_EQ(guest[40 + i], i) << i;
        }
    }
    fake_cpu_free(cpu);
}

// The soft-MMU hook: with cpu->mem set, guest accesses go through it.
uint64_t hook_loads, hook_stores;
uint64_t hook_load(TCGCPU *, uint64_t addr, TCGMemOp mo) { hook_loads++; return addr + mo; }
void hook_store(TCGCPU *, uint64_t addr, uint64_t v, TCGMemOp) { hook_stores += addr + v; }
void hook_load128(TCGCPU *, uint64_t, void *dst) { memset(dst, 0x5a, 16); }
void hook_store128(TCGCPU *, uint64_t, const void *) { hook_stores += 1000; }
const TCGMemOps hook_ops = {hook_load, hook_store, hook_load128, hook_store128};

TEST(InterpMem, SoftMmuHookTakesEveryGuestAccess)
{
    FakeCPU *cpu = fake_cpu_new();
    cpu->tcg.mem = &hook_ops;
    cpu->r[0] = 0x1000;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            tcg_gen_guest_ld(s, TCG_I64, MO_32, fake_r[1], fake_r[0]);
            tcg_gen_guest_st(s, MO_8, tcg_const(s, 5), fake_r[0]);
            tcg_gen_guest_ld128(s, FAKE_OFF(scratch), fake_r[0]);
            tcg_gen_guest_st128(s, FAKE_OFF(scratch), fake_r[0]);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        false);
    EXPECT_EQ(cpu->r[1], 0x1000u + MO_32);
    EXPECT_EQ(hook_loads, 1u);
    EXPECT_EQ(hook_stores, 0x1005u + 1000);
    EXPECT_EQ(cpu->scratch[0], 0x5a5a5a5a5a5a5a5aULL);
    fake_cpu_free(cpu);
}

TEST(InterpFlow, BranchesAndInsnStart)
{
    FakeCPU *cpu = fake_cpu_new();
    // r0 = sum of 1..r1 with a backward branch inside the block.
    cpu->r[0] = 0;
    cpu->r[1] = 10;
    for (int opt = 0; opt < 2; opt++) {
        cpu->r[0] = 0;
        fake_run_ir(
            cpu,
            [&](TCGContext *s) {
                int top = tcg_label_new(s), done = tcg_label_new(s);
                TCGTemp i = tcg_temp_new(s);
                tcg_gen_mov(s, TCG_I64, i, fake_r[1]);
                tcg_gen_set_label(s, top);
                tcg_gen_brcond(s, TCG_I64, TCG_COND_EQ, i, tcg_const(s, 0), done);
                tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], i);
                tcg_gen_sub(s, TCG_I64, i, i, tcg_const(s, 1));
                tcg_gen_br(s, top);
                tcg_gen_set_label(s, done);
                tcg_gen_insn_start(s, 0x1234);
                tcg_gen_exit_tb(s, TCG_EXIT_SYSCALL);
            },
            opt);
        EXPECT_EQ(cpu->r[0], 55u);
        EXPECT_EQ(cpu->tcg.insn_pc, 0x1234u);
        EXPECT_EQ(cpu->tcg.exit_reason, TCG_EXIT_SYSCALL);
    }
    fake_cpu_free(cpu);
}

// Helpers with 0..5 arguments of every kind; each returns a value that depends on every argument.
uint64_t h0() { return 0x1234567890ULL; }
uint32_t h1(uint32_t a) { return a * 3 + 0xf0000000u; }
uint64_t h2(void *env, uint64_t b) { return reinterpret_cast<FakeCPU *>(env)->r[7] + b; }
uint64_t h3(uint64_t a, uint32_t b, uint64_t c) { return a * 1000003 + b * 31 + c; }
uint32_t h4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a ^ (b << 8) ^ (c << 16) ^ (d << 24); }
uint64_t h5(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e) { return a + 2 * b + 3 * c + 4 * d + 5 * e; }
int void_calls;
void hvoid(void *env) { reinterpret_cast<FakeCPU *>(env)->r[5] = 0x55; void_calls++; }

// Declared as returning i32 but leaves garbage in the upper half of the register: must be cut off.
uint64_t hwide(uint64_t a) { return 0xdeadbeef00000000ULL | (uint32_t)(a + 5); }
const TCGHelperInfo info_hwide = {"hwide", (void *)hwide, 0, TCG_ARG_I32, 1, {TCG_ARG_I32}};
const TCGHelperInfo info_h0 = {"h0", (void *)h0, 0, TCG_ARG_I64, 0, {}};
const TCGHelperInfo info_h1 = {"h1", (void *)h1, 0, TCG_ARG_I32, 1, {TCG_ARG_I32}};
const TCGHelperInfo info_h2 = {"h2", (void *)h2, 0, TCG_ARG_I64, 2, {TCG_ARG_PTR, TCG_ARG_I64}};
const TCGHelperInfo info_h3 = {"h3", (void *)h3, 0, TCG_ARG_I64, 3, {TCG_ARG_I64, TCG_ARG_I32, TCG_ARG_I64}};
const TCGHelperInfo info_h4 = {"h4", (void *)h4, 0, TCG_ARG_I32, 4, {TCG_ARG_I32, TCG_ARG_I32, TCG_ARG_I32, TCG_ARG_I32}};
const TCGHelperInfo info_h5 = {"h5", (void *)h5, 0, TCG_ARG_I64, 5,
                               {TCG_ARG_I64, TCG_ARG_I64, TCG_ARG_I64, TCG_ARG_I64, TCG_ARG_I64}};
const TCGHelperInfo info_hvoid = {"hvoid", (void *)hvoid, 0, TCG_ARG_VOID, 1, {TCG_ARG_PTR}};

// Both call paths: direct (x86-64 hosts) and libffi (everywhere).
class InterpCall : public ::testing::TestWithParam<bool> {
  protected:
    void SetUp() override { saved_ = interp_direct_calls; interp_direct_calls = GetParam(); }
    void TearDown() override { interp_direct_calls = saved_; }
    bool saved_ = false;
};

TEST_P(InterpCall, ZeroToFiveArguments)
{
    FakeCPU *cpu = fake_cpu_new();
    const uint64_t a = 0xaaaabbbbccccddddULL, b = 0x1111222233334444ULL, c = 0x99, d = 0xfeedfacecafebeefULL;
    for (int opt = 0; opt < 2; opt++) {
        cpu->r[7] = 1000;
        cpu->r[0] = a;
        cpu->r[1] = b;
        void_calls = 0;
        fake_run_ir(
            cpu,
            [&](TCGContext *s) {
                const TCGTemp none[1] = {0};
                tcg_gen_call(s, &info_h0, fake_r[2], 0, none);
                TCGTemp t = tcg_temp_new(s);
                const TCGTemp a1[] = {fake_r[0]};
                tcg_gen_call(s, &info_h1, t, 1, a1);
                tcg_gen_st(s, MO_64, t, TCG_TEMP_ENV, FAKE_OFF(scratch));
                const TCGTemp a2[] = {TCG_TEMP_ENV, tcg_const(s, 7)};
                tcg_gen_call(s, &info_h2, fake_r[3], 2, a2);
                const TCGTemp a3[] = {fake_r[0], fake_r[1], tcg_const(s, c)};
                tcg_gen_call(s, &info_h3, fake_r[4], 3, a3);
                const TCGTemp a4[] = {fake_r[0], fake_r[1], tcg_const(s, c), tcg_const(s, d)};
                TCGTemp u = tcg_temp_new(s);
                tcg_gen_call(s, &info_h4, u, 4, a4);
                tcg_gen_st(s, MO_64, u, TCG_TEMP_ENV, FAKE_OFF(scratch) + 8);
                const TCGTemp a5[] = {fake_r[0], fake_r[1], tcg_const(s, c), tcg_const(s, d), fake_r[7]};
                tcg_gen_call(s, &info_h5, fake_r[6], 5, a5);
                const TCGTemp av[] = {TCG_TEMP_ENV};
                tcg_gen_call(s, &info_hvoid, -1, 1, av);
                const TCGTemp aw[] = {tcg_const(s, 0x100000001ULL)};
                tcg_gen_call(s, &info_hwide, fake_r[1], 1, aw);
                tcg_gen_exit_tb(s, TCG_EXIT_HALT);
            },
            opt);
        EXPECT_EQ(cpu->r[2], h0());
        EXPECT_EQ(cpu->scratch[0], (uint64_t)h1((uint32_t)a));   // zero-extended 32-bit result
        EXPECT_EQ(cpu->r[3], 1007u);
        EXPECT_EQ(cpu->r[4], h3(a, (uint32_t)b, c));
        EXPECT_EQ(cpu->scratch[1], (uint64_t)h4((uint32_t)a, (uint32_t)b, (uint32_t)c, (uint32_t)d));
        EXPECT_EQ(cpu->r[6], h5(a, b, c, d, 1000));
        EXPECT_EQ(cpu->r[5], 0x55u);
        EXPECT_EQ(void_calls, 1);
        EXPECT_EQ(cpu->r[1], 6u);
    }
    fake_cpu_free(cpu);
}

INSTANTIATE_TEST_SUITE_P(DirectAndLibffi, InterpCall, ::testing::Values(true, false));

TEST(InterpCompile, RejectsWritesToConstantsAndUnknownLabels)
{
    FakeCPU *cpu = fake_cpu_new();
    TCGContext *s = cpu->tcg.ctx;
    TranslationBlock tb = {};
    tcg_func_start(s);
    tcg_gen_add(s, TCG_I64, tcg_const(s, 1), fake_r[0], fake_r[1]);
    EXPECT_LT(tcg_backend_interp.compile(s, &tb), 0);
    tcg_func_start(s);
    tcg_gen_br(s, 3);
    EXPECT_LT(tcg_backend_interp.compile(s, &tb), 0);
    tcg_func_start(s);
    int l = tcg_label_new(s);
    tcg_gen_br(s, l);   // never set
    EXPECT_LT(tcg_backend_interp.compile(s, &tb), 0);
    EXPECT_EQ(tb.code, nullptr);
    EXPECT_EQ(tcg_backend_find("interp"), &tcg_backend_interp);
    EXPECT_EQ(tcg_backend_find("nonesuch"), nullptr);
    fake_cpu_free(cpu);
}

}  // namespace
