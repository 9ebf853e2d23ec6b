// The integer instructions, native against emulated (both backends), on random inputs: bit tests, scans and counts, BMI, ADX, byte order, CRC32.
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

TEST_P(IntTest, BitTests)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS, ZYDIS_MNEMONIC_BTR, ZYDIS_MNEMONIC_BTC};
    for (ZydisMnemonic m : ops) {
        for (int w = 1; w < 4; w++) {
            Run(Asm()(m, {R(kA[w]), R(kB[w])}), CF | ZF);
            Run(Asm()(m, {R(kA[w]), I(w == 1 ? 13 : 45)}), CF | ZF);
            Run(Asm()(m, {M(kBytes[w]), R(kB[w])}), CF | ZF);   // RBX: a signed offset within +-2048 bits
            Run(Asm()(m, {M(kBytes[w]), I(3)}), CF | ZF);
        }
    }
}

// A zero source (in the operand's width) half of the time.
void SetupZeroSource(HarnessState *s, HarnessRng *r, void *arg)
{
    RandomSetup(s, r, arg);
    if (harness_rng_next(r) % 2) {
        s->regs[HR_RBX] = (harness_rng_next(r) % 2) ? 0 : 0xffffffff00000000ULL;
    }
}

TEST_P(IntTest, BitScansAndCounts)
{
    for (int w = 1; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_BSF, {R(kA[w]), R(kB[w])}), ZF, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_BSR, {R(kA[w]), R(kB[w])}), ZF, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_TZCNT, {R(kA[w]), R(kB[w])}), CF | ZF, 0, 40, SetupZeroSource);
        Run(Asm()(ZYDIS_MNEMONIC_LZCNT, {R(kA[w]), R(kB[w])}), CF | ZF, 0, 40, SetupZeroSource);
    }
    for (int w = 1; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_BSF, {R(kA[w]), R(kB[w])}), ZF);
        Run(Asm()(ZYDIS_MNEMONIC_BSR, {R(kA[w]), R(kB[w])}), ZF);
        Run(Asm()(ZYDIS_MNEMONIC_BSF, {R(kA[w]), M(kBytes[w])}), ZF);
        Run(Asm()(ZYDIS_MNEMONIC_BSR, {R(kA[w]), M(kBytes[w])}), ZF);
        Run(Asm()(ZYDIS_MNEMONIC_TZCNT, {R(kA[w]), R(kB[w])}), CF | ZF);
        Run(Asm()(ZYDIS_MNEMONIC_LZCNT, {R(kA[w]), R(kB[w])}), CF | ZF);
        Run(Asm()(ZYDIS_MNEMONIC_LZCNT, {R(kA[w]), M(kBytes[w])}), CF | ZF);
        Run(Asm()(ZYDIS_MNEMONIC_POPCNT, {R(kA[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_POPCNT, {R(kA[w]), M(kBytes[w])}), kAll);
    }
}

TEST_P(IntTest, Bmi)
{
    for (int w = 2; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_ANDN, {R(kA[w]), R(kB[w]), R(kC[w])}), SF | ZF | CF | OF);
        Run(Asm()(ZYDIS_MNEMONIC_ANDN, {R(kA[w]), R(kB[w]), M(kBytes[w])}), SF | ZF | CF | OF);
        Run(Asm()(ZYDIS_MNEMONIC_BEXTR, {R(kA[w]), R(kB[w]), R(kC[w])}), ZF | CF | OF);
        Run(Asm()(ZYDIS_MNEMONIC_BEXTR, {R(kA[w]), M(kBytes[w]), R(kD[w])}), ZF | CF | OF);
        Run(Asm()(ZYDIS_MNEMONIC_BLSI, {R(kA[w]), R(kB[w])}), SF | ZF | CF | OF);
        Run(Asm()(ZYDIS_MNEMONIC_BLSMSK, {R(kA[w]), R(kB[w])}), SF | ZF | CF | OF);
        Run(Asm()(ZYDIS_MNEMONIC_BLSR, {R(kA[w]), M(kBytes[w])}), SF | ZF | CF | OF);
        Run(Asm()(ZYDIS_MNEMONIC_BZHI, {R(kA[w]), R(kB[w]), R(kC[w])}), SF | ZF | CF | OF);
        Run(Asm()(ZYDIS_MNEMONIC_PDEP, {R(kA[w]), R(kB[w]), R(kC[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_PEXT, {R(kA[w]), R(kB[w]), M(kBytes[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_ADCX, {R(kA[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_ADOX, {R(kA[w]), M(kBytes[w])}), kAll);
    }
    // a carry chain through both flags
    Run(Asm()(ZYDIS_MNEMONIC_ADCX, {R(ZYDIS_REGISTER_RAX), R(ZYDIS_REGISTER_RBX)})(
            ZYDIS_MNEMONIC_ADOX, {R(ZYDIS_REGISTER_RCX), R(ZYDIS_REGISTER_RDX)})(
            ZYDIS_MNEMONIC_ADCX, {R(ZYDIS_REGISTER_RSI), R(ZYDIS_REGISTER_R8)})(
            ZYDIS_MNEMONIC_ADOX, {R(ZYDIS_REGISTER_R9), R(ZYDIS_REGISTER_R10)}),
        kAll);
}

TEST_P(IntTest, ByteOrderAndCrc)
{
    Run(Asm()(ZYDIS_MNEMONIC_BSWAP, {R(ZYDIS_REGISTER_EAX)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_BSWAP, {R(ZYDIS_REGISTER_R11)}), kAll);
    for (int w = 1; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_MOVBE, {R(kA[w]), M(kBytes[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_MOVBE, {M(kBytes[w]), R(kB[w])}), kAll);
    }
    for (int w = 0; w < 4; w++) {
        ZydisRegister dst = w == 3 ? ZYDIS_REGISTER_RAX : ZYDIS_REGISTER_EAX;
        Run(Asm()(ZYDIS_MNEMONIC_CRC32, {R(dst), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_CRC32, {R(dst), M(kBytes[w])}), kAll);
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, IntTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
