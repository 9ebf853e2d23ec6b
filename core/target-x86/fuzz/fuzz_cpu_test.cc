// The differential fuzzer in CI: a fixed seed and a bounded count (20k random instructions per backend),
// which must all agree with the host; plus the form probe's basic promises.
#include <gtest/gtest.h>

#include <cstring>

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

// BSF leaves CF undefined; ADC reads it: not a valid sequence. An ADD in between defines CF again.
TEST(FuzzFlags, TracksUndefinedFlags)
{
    const uint8_t bsf_adc[] = {0x0f, 0xbc, 0xc3, 0x11, 0xc8};                   // bsf eax, ebx; adc eax, ecx
    const uint8_t bsf_add_adc[] = {0x0f, 0xbc, 0xc3, 0x01, 0xc8, 0x11, 0xc8};   // ... add eax, ecx ...
    FuzzUndef u = fuzz_undef_of(bsf_adc, sizeof(bsf_adc));
    EXPECT_TRUE(u.reads_undefined);
    u = fuzz_undef_of(bsf_add_adc, sizeof(bsf_add_adc));
    EXPECT_FALSE(u.reads_undefined);
    EXPECT_EQ(u.rflags, 0u);
    u = fuzz_undef_of(bsf_adc, 3);
    EXPECT_NE(u.rflags & 1u, 0u);   // CF undefined at the end
    // A shift by CL may shift by zero and keep BSF's undefined flags.
    const uint8_t bsf_shl[] = {0x0f, 0xbc, 0xc3, 0xd3, 0xe0};                  // bsf eax, ebx; shl eax, cl
    u = fuzz_undef_of(bsf_shl, sizeof(bsf_shl));
    EXPECT_NE(u.rflags & 1u, 0u);
}

// Shrinking moves units; a RIP-relative operand must keep its target.
TEST(FuzzSeq, SubsetKeepsRipRelativeTargets)
{
    const uint8_t code[] = {0x90, 0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00};   // nop; mov rax, [rip+0x10]
    FuzzSeq *seq = new FuzzSeq, *sub = new FuzzSeq;
    fuzz_seq_from_bytes(seq, code, sizeof(code));
    ASSERT_EQ(seq->nunits, 2);
    bool keep[FUZZ_MAX_UNITS] = {false, true};
    ASSERT_TRUE(fuzz_seq_subset(sub, seq, keep));
    ASSERT_EQ(sub->len, 7u);
    int32_t disp;
    memcpy(&disp, sub->bytes + 3, 4);
    EXPECT_EQ(disp, 0x11);   // one byte earlier, so one more to the same target
    delete seq;
    delete sub;
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
