// The differential fuzzer in CI: a fixed seed and a bounded count (20k random instructions per backend),
// which must all agree with the host; plus the form probe's basic promises.
#include <gtest/gtest.h>

#include "core/target-x86/fuzz/fuzz.h"

namespace {

TEST(FuzzForms, ProbesTheEncoder)
{
    const FuzzForms *add = fuzz_forms(ZYDIS_MNEMONIC_ADD);
    bool reg_imm = false, mem_lock = false;
    for (int i = 0; i < add->count; i++) {
        const FuzzForm &f = add->forms[i];
        if (f.count == 2 && f.slot[0].kind == FK_GPR64 && f.slot[1].kind == FK_IMM) {
            reg_imm = true;
            EXPECT_EQ(f.slot[1].imm_bits, 32);   // sign-extended imm32, never imm64
        }
        if (f.count == 2 && f.slot[0].kind == FK_MEM && f.lock_ok) {
            mem_lock = true;
        }
    }
    EXPECT_TRUE(reg_imm);
    EXPECT_TRUE(mem_lock);
    const FuzzInsn *insns;
    size_t usable = 0;
    size_t n = fuzz_insns(&insns, &usable);
    EXPECT_GT(usable, n / 2);
}

void FuzzOne(const char *backend)
{
    FuzzConfig cfg = {};
    cfg.seed = 0x20261122;
    cfg.count = 20000;
    cfg.units = 40;
    cfg.fork_emulated = true;
    cfg.max_reports = 5;
    cfg.quiet = true;
    FuzzTotals t;
    ASSERT_EQ(fuzz_backend(&cfg, backend, &t), 0);
    EXPECT_GE(t.compared_insns, cfg.count);
    EXPECT_EQ(t.mismatches, 0) << "see the reproducers above";
    EXPECT_EQ(t.errors, 0);
}

TEST(FuzzCpu, Interp) { FuzzOne("interp"); }

TEST(FuzzCpu, Jit)
{
    if (!fuzz_backend_exists("jit")) {
        GTEST_SKIP() << "no jit backend yet";
    }
    FuzzOne("jit");
}

}  // namespace
