// The integer instructions, native against emulated (both backends), on random inputs: SETcc and CMOVcc after every kind of flag producer.
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

// Every condition after every kind of flag producer: the translate-time fast paths of gen_cond.
TEST_P(IntTest, ConditionsAfterEachProducer)
{
    struct Producer {
        ZydisMnemonic m;
        int nops;
        uint32_t defined;
    };
    const Producer producers[] = {
        {ZYDIS_MNEMONIC_CMP, 2, kAll},  {ZYDIS_MNEMONIC_SUB, 2, kAll},  {ZYDIS_MNEMONIC_ADD, 2, kAll},
        {ZYDIS_MNEMONIC_ADC, 2, kAll},  {ZYDIS_MNEMONIC_SBB, 2, kAll},  {ZYDIS_MNEMONIC_AND, 2, kAll & ~AF},
        {ZYDIS_MNEMONIC_TEST, 2, kAll & ~AF}, {ZYDIS_MNEMONIC_INC, 1, kAll}, {ZYDIS_MNEMONIC_DEC, 1, kAll},
        {ZYDIS_MNEMONIC_NEG, 1, kAll},  {ZYDIS_MNEMONIC_SHL, 1, kAll & ~AF}, {ZYDIS_MNEMONIC_SAR, 1, kAll & ~AF},
        {ZYDIS_MNEMONIC_SHR, 1, kAll & ~AF}, {ZYDIS_MNEMONIC_IMUL, 2, CF | OF}, {ZYDIS_MNEMONIC_MUL, 0, CF | OF},
    };
    // what each condition reads (Jcc order, in pairs)
    const uint32_t reads[8] = {OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF};
    for (const Producer &p : producers) {
        for (int w = 0; w < 4; w++) {
            if (p.m == ZYDIS_MNEMONIC_IMUL && w == 0) {
                continue;
            }
            for (int cc = 0; cc < 16; cc++) {
                if ((reads[cc / 2] & p.defined) != reads[cc / 2]) {
                    continue;
                }
                static const ZydisMnemonic setcc[16] = {
                    ZYDIS_MNEMONIC_SETO,  ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB,  ZYDIS_MNEMONIC_SETNB,
                    ZYDIS_MNEMONIC_SETZ,  ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
                    ZYDIS_MNEMONIC_SETS,  ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP,  ZYDIS_MNEMONIC_SETNP,
                    ZYDIS_MNEMONIC_SETL,  ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE};
                static const ZydisMnemonic cmov[16] = {
                    ZYDIS_MNEMONIC_CMOVO,  ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB,  ZYDIS_MNEMONIC_CMOVNB,
                    ZYDIS_MNEMONIC_CMOVZ,  ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
                    ZYDIS_MNEMONIC_CMOVS,  ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP,  ZYDIS_MNEMONIC_CMOVNP,
                    ZYDIS_MNEMONIC_CMOVL,  ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE};
                Asm a;
                if (p.nops == 2) {
                    a(p.m, {R(kA[w]), R(kB[w])});
                } else if (p.nops == 1) {
                    if (p.m == ZYDIS_MNEMONIC_SHL || p.m == ZYDIS_MNEMONIC_SAR || p.m == ZYDIS_MNEMONIC_SHR) {
                        a(p.m, {R(kA[w]), I(1)});
                    } else {
                        a(p.m, {R(kA[w])});
                    }
                } else {
                    a(p.m, {R(kB[w])});
                }
                a(setcc[cc], {R(ZYDIS_REGISTER_R10B)});
                a(cmov[cc], {R(ZYDIS_REGISTER_R11D), R(ZYDIS_REGISTER_R12D)});
                a(cmov[cc], {R(ZYDIS_REGISTER_R13), M(8)});
                Run(a, p.defined, 0, 8);
            }
        }
    }
}

// Several producers and consumers in one block: the cc_op the translator tracks must stay right.
TEST_P(IntTest, FlagChainsInOneBlock)
{
    Asm a;
    a(ZYDIS_MNEMONIC_CMP, {R(ZYDIS_REGISTER_RAX), R(ZYDIS_REGISTER_RBX)})(ZYDIS_MNEMONIC_SETB, {R(ZYDIS_REGISTER_CL)})(
        ZYDIS_MNEMONIC_ADC, {R(ZYDIS_REGISTER_RDX), R(ZYDIS_REGISTER_RSI)})(ZYDIS_MNEMONIC_SETL, {R(ZYDIS_REGISTER_R8B)})(
        ZYDIS_MNEMONIC_INC, {R(ZYDIS_REGISTER_R9D)})(ZYDIS_MNEMONIC_SETBE, {R(ZYDIS_REGISTER_R10B)})(
        ZYDIS_MNEMONIC_SHL, {R(ZYDIS_REGISTER_R11W), R(ZYDIS_REGISTER_CL)})(ZYDIS_MNEMONIC_SETNS, {R(ZYDIS_REGISTER_R12B)})(
        ZYDIS_MNEMONIC_BT, {R(ZYDIS_REGISTER_R13), R(ZYDIS_REGISTER_RBX)})(ZYDIS_MNEMONIC_SBB, {R(ZYDIS_REGISTER_R14), I(3)})(
        ZYDIS_MNEMONIC_ROL, {R(ZYDIS_REGISTER_R15B), R(ZYDIS_REGISTER_CL)})(ZYDIS_MNEMONIC_SETZ, {R(ZYDIS_REGISTER_AL)});
    Run(a, kAll & ~(AF | OF), 0, 200);
}

INSTANTIATE_TEST_SUITE_P(Backends, IntTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
