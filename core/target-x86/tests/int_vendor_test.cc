// What the manual leaves undefined in the integer instructions, native against emulated with every flag
// compared: the translator follows the host's vendor there (x86_vendor_intel()). Only the Intel
// behaviour has been measured on hardware here (cc.c, int-shift.c, int-bits.c), so on other hosts these
// tests are skipped; the int_*_test files check the defined parts everywhere.
#include <stdint.h>

#include <gtest/gtest.h>

#include "core/target-x86/tests/harness.h"
// cpu.h (through cpuid.h) is C11; its _Static_assert is C++'s static_assert.
#define _Static_assert static_assert
extern "C" {
#include "core/target-x86/cpuid.h"
#include "core/tcg/backend.h"
}

#include "core/target-x86/tests/int_fixture.h"

namespace {

class IntVendorTest : public IntTest {
  protected:
    void SetUp() override
    {
        IntTest::SetUp();
        if (!x86_vendor_intel()) GTEST_SKIP() << "undefined results measured on Intel hosts only";
    }
};

// A zero source (in the operand's width) half of the time.
void SetupZeroSource(HarnessState *s, HarnessRng *r, void *arg)
{
    RandomSetup(s, r, arg);
    if (harness_rng_next(r) % 2) {
        s->regs[HR_RBX] = (harness_rng_next(r) % 2) ? 0 : 0xffffffff00000000ULL;
    }
}

TEST_P(IntVendorTest, ShiftsAndRotates)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR, ZYDIS_MNEMONIC_SAR, ZYDIS_MNEMONIC_ROL,
                                 ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL, ZYDIS_MNEMONIC_RCR};
    for (ZydisMnemonic m : ops) {
        for (int w = 0; w < 4; w++) {
            Run(Asm()(m, {R(kA[w]), R(ZYDIS_REGISTER_CL)}), kAll);
            Run(Asm()(m, {M(kBytes[w]), R(ZYDIS_REGISTER_CL)}), kAll);
            Run(Asm()(m, {R(kR9[w]), I(w == 0 ? 7 : 13)}), kAll);
            Run(Asm()(m, {R(kR9[w]), I(w == 0 ? 9 : 17)}), kAll);   // a whole turn for RCL/RCR r8/r16
        }
    }
}

TEST_P(IntVendorTest, DoubleShifts)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_SHLD, ZYDIS_MNEMONIC_SHRD};
    for (ZydisMnemonic m : ops) {
        for (int w = 1; w < 4; w++) {
            Run(Asm()(m, {R(kA[w]), R(kB[w]), R(ZYDIS_REGISTER_CL)}), kAll);
            Run(Asm()(m, {M(kBytes[w]), R(kB[w]), R(ZYDIS_REGISTER_CL)}), kAll);
            Run(Asm()(m, {R(kA[w]), R(kB[w]), I(w == 1 ? 9 : 21)}), kAll);
            if (w == 1) {
                Run(Asm()(m, {R(kA[w]), R(kB[w]), I(23)}), kAll);
            }
        }
    }
}

// Rotates by a constant are recorded lazily over the op before them (cc.h's ROT); an Intel SHL is no
// such base. Their flags must come out right after either kind.
TEST_P(IntVendorTest, RotatesAfterOtherFlagWriters)
{
    const ZydisRegister rax = ZYDIS_REGISTER_RAX, rbx = ZYDIS_REGISTER_RBX, rdx = ZYDIS_REGISTER_RDX;
    const ZydisRegister ebx = ZYDIS_REGISTER_EBX, bx = ZYDIS_REGISTER_BX;
    Run(Asm()(ZYDIS_MNEMONIC_ADD, {R(rax), R(rdx)})(ZYDIS_MNEMONIC_ROL, {R(rbx), I(7)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_SUB, {R(rax), R(rdx)})(ZYDIS_MNEMONIC_ROR, {R(ebx), I(3)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_SHL, {R(rax), I(5)})(ZYDIS_MNEMONIC_ROL, {R(bx), I(3)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_SHL, {R(rax), R(ZYDIS_REGISTER_CL)})(ZYDIS_MNEMONIC_ROR, {R(rbx), I(9)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_SHR, {R(rax), I(5)})(ZYDIS_MNEMONIC_ROR, {R(rbx), I(1)})(ZYDIS_MNEMONIC_ROL,
                                                                                     {R(rdx), I(2)}),
        kAll);
}

TEST_P(IntVendorTest, Multiply)
{
    for (int w = 0; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_MUL, {R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_IMUL, {M(kBytes[w])}), kAll, 0, 40, SetupZeroSource);
        if (w > 0) {
            Run(Asm()(ZYDIS_MNEMONIC_IMUL, {R(kA[w]), R(kB[w])}), kAll, 0, 40, SetupZeroSource);
            Run(Asm()(ZYDIS_MNEMONIC_IMUL, {R(kA[w]), R(kB[w]), I(-7)}), kAll);
        }
    }
    // ZF read straight after the multiply (the translator's fast path for conditions)
    Run(Asm()(ZYDIS_MNEMONIC_IMUL, {R(ZYDIS_REGISTER_RAX), R(ZYDIS_REGISTER_RBX)})(ZYDIS_MNEMONIC_SETZ,
                                                                                 {R(ZYDIS_REGISTER_CL)}),
        kAll, 0, 40, SetupZeroSource);
}

TEST_P(IntVendorTest, BitScansAndBmi)
{
    for (int w = 1; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_BSF, {R(kA[w]), R(kB[w])}), kAll, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_BSR, {R(kA[w]), R(kB[w])}), kAll, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_BSR, {R(kA[w]), M(kBytes[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_TZCNT, {R(kA[w]), R(kB[w])}), kAll, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_LZCNT, {R(kA[w]), R(kB[w])}), kAll, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_BT, {R(kA[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_BTC, {M(kBytes[w]), I(3)}), kAll);
    }
    for (int w = 2; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_ANDN, {R(kA[w]), R(kB[w]), R(kC[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_BEXTR, {R(kA[w]), R(kB[w]), R(kC[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_BLSI, {R(kA[w]), R(kB[w])}), kAll, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_BLSMSK, {R(kA[w]), R(kB[w])}), kAll, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_BLSR, {R(kA[w]), R(kB[w])}), kAll, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_BZHI, {R(kA[w]), R(kB[w]), R(kC[w])}), kAll);
    }
}

TEST_P(IntVendorTest, Divide)
{
    for (int w = 1; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_MOV, {R(kD[w]), I(0)})(ZYDIS_MNEMONIC_OR, {R(kB[w]), I(1)})(ZYDIS_MNEMONIC_DIV,
                                                                                              {R(kB[w])}),
            kAll);
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, IntVendorTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
