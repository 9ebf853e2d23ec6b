// The integer instructions, native against emulated (both backends), on random inputs: arithmetic and logic, with and without LOCK.
// Every width; register, memory and immediate forms; the flags the manual defines (undefined ones masked).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/target-x86/tests/harness.h"
extern "C" {
#include "core/tcg/backend.h"
}

#include "core/target-x86/tests/int_fixture.h"

namespace {

TEST_P(IntTest, BinaryArithmetic)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_SBB,
                                 ZYDIS_MNEMONIC_CMP, ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_OR,  ZYDIS_MNEMONIC_XOR,
                                 ZYDIS_MNEMONIC_TEST};
    for (ZydisMnemonic m : ops) {
        bool logic = m == ZYDIS_MNEMONIC_AND || m == ZYDIS_MNEMONIC_OR || m == ZYDIS_MNEMONIC_XOR ||
                     m == ZYDIS_MNEMONIC_TEST;
        uint32_t flags = logic ? kAll & ~AF : kAll;
        for (int w = 0; w < 4; w++) {
            Run(Asm()(m, {R(kA[w]), R(kB[w])}), flags);
            Run(Asm()(m, {M(kBytes[w]), R(kB[w])}), flags);
            if (m != ZYDIS_MNEMONIC_TEST) {
                Run(Asm()(m, {R(kB[w]), M(kBytes[w])}), flags);
            }
            Run(Asm()(m, {R(kR9[w]), I(w == 0 ? 0x7f : -3)}), flags);
            Run(Asm()(m, {M(kBytes[w]), I(w == 0 ? -128 : 0x41)}), flags);
            Run(Asm()(m, {R(kA[w]), R(kA[w])}), flags);   // the xor/sub zero idioms
        }
        Run(Asm()(m, {R(ZYDIS_REGISTER_AH), R(ZYDIS_REGISTER_BH)}), flags);
    }
}

TEST_P(IntTest, UnaryArithmetic)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_INC, ZYDIS_MNEMONIC_DEC, ZYDIS_MNEMONIC_NEG, ZYDIS_MNEMONIC_NOT};
    for (ZydisMnemonic m : ops) {
        for (int w = 0; w < 4; w++) {
            Run(Asm()(m, {R(kA[w])}), kAll);
            Run(Asm()(m, {M(kBytes[w])}), kAll);
        }
    }
}

TEST_P(IntTest, LockedReadModifyWrite)
{
    const ZydisMnemonic bin[] = {ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_SBB,
                                 ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_OR,  ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_XADD};
    for (int w = 0; w < 4; w++) {
        for (ZydisMnemonic m : bin) {
            Run(Asm().lock()(m, {M(kBytes[w]), R(kB[w])}), kAll & ~AF);
        }
        Run(Asm().lock()(ZYDIS_MNEMONIC_INC, {M(kBytes[w])}), kAll);
        Run(Asm().lock()(ZYDIS_MNEMONIC_DEC, {M(kBytes[w])}), kAll);
        Run(Asm().lock()(ZYDIS_MNEMONIC_NEG, {M(kBytes[w])}), kAll);
        Run(Asm().lock()(ZYDIS_MNEMONIC_NOT, {M(kBytes[w])}), kAll);
        Run(Asm().lock()(ZYDIS_MNEMONIC_CMPXCHG, {M(kBytes[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_XCHG, {M(kBytes[w]), R(kB[w])}), kAll);
        if (w > 0) {
            Run(Asm().lock()(ZYDIS_MNEMONIC_BTS, {M(kBytes[w]), R(kB[w])}), CF);
            Run(Asm().lock()(ZYDIS_MNEMONIC_BTR, {M(kBytes[w]), I(5)}), CF);
            Run(Asm().lock()(ZYDIS_MNEMONIC_BTC, {M(kBytes[w]), R(kB[w])}), CF);
        }
    }
}

// LOCK is #UD on a register destination and on instructions that cannot take it.
TEST_P(IntTest, IllegalLockIsUd)
{
    const char *cases[] = {
        "\xf0\x48\x01\xd8",   // lock add rax, rbx
        "\xf0\x48\x89\x07",   // lock mov [rdi], rax
        "\xf0\x48\x39\x07",   // lock cmp [rdi], rax
        "\xf0\x48\xff\xc0",   // lock inc rax
    };
    for (const char *b : cases) {
        Asm a;
        harness_emit_bytes(&a.code, b, strlen(b));
        Run(a, kAll, 0, 3);
    }
}

// A fault in a locked access (in the IR's load, or inside the atomic helper for XCHG/XADD/CMPXCHG) is the
// guest's #PF at that instruction, with no register or flag changed.
void SetupUnmapped(HarnessState *s, HarnessRng *r, void *arg)
{
    RandomSetup(s, r, arg);
    s->regs[HR_RBX] = HARNESS_MEM_ADDR + HARNESS_MEM_SIZE + 0x40;
}

TEST_P(IntTest, LockedAccessFaults)
{
    ZydisEncoderOperand m = harness_mem(8, ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_NONE, 0, 0);
    Run(Asm()(ZYDIS_MNEMONIC_ADD, {R(ZYDIS_REGISTER_RCX), I(1)}).lock()(ZYDIS_MNEMONIC_INC, {m}), kAll, 0, 5,
        SetupUnmapped);
    Run(Asm()(ZYDIS_MNEMONIC_ADD, {R(ZYDIS_REGISTER_RCX), I(1)})(ZYDIS_MNEMONIC_XCHG, {m, R(ZYDIS_REGISTER_RAX)}), kAll,
        0, 5, SetupUnmapped);
    Run(Asm()(ZYDIS_MNEMONIC_SUB, {R(ZYDIS_REGISTER_RCX), I(1)}).lock()(ZYDIS_MNEMONIC_XADD, {m, R(ZYDIS_REGISTER_RAX)}),
        kAll, 0, 5, SetupUnmapped);
    Run(Asm()(ZYDIS_MNEMONIC_SUB, {R(ZYDIS_REGISTER_RCX), I(1)}).lock()(ZYDIS_MNEMONIC_CMPXCHG,
                                                                         {m, R(ZYDIS_REGISTER_RDX)}),
        kAll, 0, 5, SetupUnmapped);
}

INSTANTIATE_TEST_SUITE_P(Backends, IntTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
