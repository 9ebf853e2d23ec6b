// The differential fuzzer in CI: a fixed seed and a bounded count (20k random instructions per backend),
// which must all agree with the host; plus the form probe's basic promises.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <vector>

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

// Control-flow units: both outcomes of every condition occur. A forward branch is taken when the native
// run ends differently from the same unit with its displacement zeroed (which never skips the body).
TEST(FuzzControl, BranchesGoBothWays)
{
    const ZydisMnemonic conds[] = {
        ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB, ZYDIS_MNEMONIC_JZ,
        ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE, ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JNS,
        ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP, ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE,
        ZYDIS_MNEMONIC_JNLE, ZYDIS_MNEMONIC_JRCXZ, ZYDIS_MNEMONIC_JECXZ, ZYDIS_MNEMONIC_LOOP,
        ZYDIS_MNEMONIC_LOOPE, ZYDIS_MNEMONIC_LOOPNE,
    };
    FuzzSeq *seq = new FuzzSeq;
    HarnessState *in = static_cast<HarnessState *>(aligned_alloc(64, sizeof(HarnessState)));
    HarnessResult *r = static_cast<HarnessResult *>(aligned_alloc(64, 2 * sizeof(HarnessResult)));
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    for (ZydisMnemonic m : conds) {
        int taken = 0, not_taken = 0;
        for (uint64_t i = 0; i < 400 && (taken < 3 || not_taken < 3); i++) {
            HarnessRng rng = {0x5eed0000 + i * 7919 + (uint64_t)m};
            FuzzGenOptions opt = {};
            opt.units = 3;   // two random units first: they leave the flags and RCX the branch tests
            ZydisMnemonic pick[] = {ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_XOR, m};
            opt.only = pick;
            opt.nonly = 4;
            fuzz_generate(seq, &rng, &opt);
            fuzz_input_state(in, i);
            for (int u = 0; u < seq->nunits; u++) {
                if (seq->unit[u].mnemonic != m) {
                    continue;
                }
                ZydisDecodedInstruction insn;
                const uint8_t *p = seq->bytes + seq->unit[u].insn_offset;
                ASSERT_TRUE(ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, nullptr, p, 15, &insn)));
                int size = insn.raw.imm[0].size / 8;
                int64_t disp = insn.raw.imm[0].value.s;
                if (disp <= 0 || u + 1 != seq->nunits) {
                    continue;   // a backward loop, or not the last unit: not decidable this way
                }
                ASSERT_EQ(harness_run_native(seq->bytes, seq->len, in, &r[0]), 0);
                std::vector<uint8_t> never(seq->bytes, seq->bytes + seq->len);
                memset(never.data() + seq->unit[u].insn_offset + insn.length - size, 0, (size_t)size);
                ASSERT_EQ(harness_run_native(never.data(), never.size(), in, &r[1]), 0);
                bool same = memcmp(r[0].state.regs, r[1].state.regs, sizeof(r[0].state.regs)) == 0;
                (same ? not_taken : taken)++;
            }
        }
        EXPECT_GE(taken, 3) << ZydisMnemonicGetString(m);
        EXPECT_GE(not_taken, 3) << ZydisMnemonicGetString(m);
    }
    free(in);
    free(r);
    delete seq;
}

// Faults as the last unit, branches, calls and masked outputs agree with the host and are counted.
TEST(FuzzControl, SpecialUnitsAgree)
{
    static const ZydisMnemonic only[] = {
        ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_LOOP, ZYDIS_MNEMONIC_JMP, ZYDIS_MNEMONIC_CALL, ZYDIS_MNEMONIC_RET,
        ZYDIS_MNEMONIC_UD2, ZYDIS_MNEMONIC_INT3, ZYDIS_MNEMONIC_INT, ZYDIS_MNEMONIC_HLT, ZYDIS_MNEMONIC_IN,
        ZYDIS_MNEMONIC_RDTSC, ZYDIS_MNEMONIC_CPUID, ZYDIS_MNEMONIC_ADD,
    };
    FuzzConfig cfg = {};
    cfg.seed = 0x5bec1a1;
    cfg.count = 3000;
    cfg.units = 8;
    cfg.fork_emulated = true;
    cfg.max_reports = 3;
    cfg.quiet = true;
    cfg.only = only;
    cfg.nonly = sizeof(only) / sizeof(only[0]);
    FuzzTotals t;
    ASSERT_EQ(fuzz_backend(&cfg, "interp", &t), 0);
    EXPECT_EQ(t.mismatches, 0) << "see the reproducers above";
    EXPECT_EQ(t.errors, 0);
    for (ZydisMnemonic m : only) {
        EXPECT_GT(fuzz_cov_compared_count(m), 0) << ZydisMnemonicGetString(m);
    }
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

// The JIT's first tier: blocks translated without the optimizer.
TEST(FuzzCpu, JitCold)
{
    if (!fuzz_backend_exists("jit")) {
        GTEST_SKIP() << "no jit backend yet";
    }
    FuzzOne("jit_cold");
}

}  // namespace
