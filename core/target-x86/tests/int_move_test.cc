// The integer instructions, native against emulated (both backends), on random inputs: moves, exchanges, compare-exchange, direct flag access.
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

TEST_P(IntTest, Moves)
{
    for (int w = 0; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_MOV, {R(kA[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_MOV, {R(kA[w]), M(kBytes[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_MOV, {M(kBytes[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_MOV, {M(kBytes[w]), I(-2)}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_MOV, {R(kR9[w]), I(-5)}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_XCHG, {R(kA[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_XADD, {R(kA[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_XADD, {R(kA[w]), R(kA[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_XADD, {M(kBytes[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_CMPXCHG, {R(kC[w]), R(kB[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_CMPXCHG, {M(kBytes[w]), R(kB[w])}), kAll);
        if (w > 0) {
            Run(Asm()(ZYDIS_MNEMONIC_MOVZX, {R(kA[w]), R(ZYDIS_REGISTER_BL)}), kAll);
            Run(Asm()(ZYDIS_MNEMONIC_MOVSX, {R(kA[w]), M(1)}), kAll);
            Run(Asm()(ZYDIS_MNEMONIC_MOVSX, {R(kA[w]), R(w == 3 ? ZYDIS_REGISTER_BL : ZYDIS_REGISTER_BH)}), kAll);
        }
        if (w > 1) {
            Run(Asm()(ZYDIS_MNEMONIC_MOVZX, {R(kA[w]), M(2)}), kAll);
            Run(Asm()(ZYDIS_MNEMONIC_MOVSX, {R(kA[w]), R(ZYDIS_REGISTER_BX)}), kAll);
        }
    }
    Run(Asm()(ZYDIS_MNEMONIC_MOVSXD, {R(ZYDIS_REGISTER_RAX), R(ZYDIS_REGISTER_EBX)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_MOVSXD, {R(ZYDIS_REGISTER_RAX), M(4)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_MOV, {R(ZYDIS_REGISTER_RAX), I(-0x12345678)}), kAll);
    // LEA (raw bytes: the encoder wants no size for its operand): 16/32/64-bit results, 32-bit addressing
    const char *leas[] = {"\x66\x8d\x44\x8b\xf7", "\x8d\x44\x8b\xf7", "\x48\x8d\x44\x8b\xf7",
                          "\x67\x8d\x44\xcb\x07", "\x64\x48\x8d\x04\x18"};
    for (const char *b : leas) {
        Asm a;
        harness_emit_bytes(&a.code, b, strlen(b));
        Run(a, kAll);
    }
    Run(Asm()(ZYDIS_MNEMONIC_CMPXCHG8B, {M(8)}), kAll);
    Run(Asm().lock()(ZYDIS_MNEMONIC_CMPXCHG8B, {M(8)}), kAll);
    Run(Asm().lock()(ZYDIS_MNEMONIC_CMPXCHG16B, {M(16)}), kAll);
    // CMPXCHG16B needs 16-byte alignment: #GP
    Run(Asm()(ZYDIS_MNEMONIC_CMPXCHG16B, {harness_mem(16, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_NONE, 0, 8)}), kAll, 0, 5);
}

// CMPXCHG8B/16B with the comparison made to succeed.
void SetupCmpxchgEqual(HarnessState *s, HarnessRng *r, void *arg)
{
    RandomSetup(s, r, arg);
    uint64_t lo = s->regs[HR_RAX], hi = s->regs[HR_RDX];
    memcpy(s->mem + 0x240, &lo, 8);
    memcpy(s->mem + 0x248, &hi, 8);
    if (harness_rng_next(r) % 2) {
        uint32_t l = (uint32_t)lo, h = (uint32_t)hi;
        memcpy(s->mem + 0x240, &l, 4);
        memcpy(s->mem + 0x244, &h, 4);
    }
}

TEST_P(IntTest, CompareExchangeSucceeds)
{
    Run(Asm()(ZYDIS_MNEMONIC_CMPXCHG8B, {M(8)}), kAll, 0, 60, SetupCmpxchgEqual);
    Run(Asm().lock()(ZYDIS_MNEMONIC_CMPXCHG16B, {M(16)}), kAll, 0, 60, SetupCmpxchgEqual);
    for (int w = 0; w < 4; w++) {
        Run(Asm().lock()(ZYDIS_MNEMONIC_CMPXCHG, {M(kBytes[w]), R(kB[w])}), kAll, 0, 60, SetupCmpxchgEqual);
        Run(Asm()(ZYDIS_MNEMONIC_CMPXCHG, {R(kA[w]), R(kB[w])}), kAll);   // always equal
    }
}

TEST_P(IntTest, AccumulatorAndFlags)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_CBW, ZYDIS_MNEMONIC_CWDE, ZYDIS_MNEMONIC_CDQE, ZYDIS_MNEMONIC_CWD,
                                 ZYDIS_MNEMONIC_CDQ, ZYDIS_MNEMONIC_CQO,  ZYDIS_MNEMONIC_LAHF, ZYDIS_MNEMONIC_SAHF,
                                 ZYDIS_MNEMONIC_CLC, ZYDIS_MNEMONIC_STC,  ZYDIS_MNEMONIC_CMC,  ZYDIS_MNEMONIC_NOP};
    for (ZydisMnemonic m : ops) {
        Run(Asm()(m, {}), kAll);
    }
    // flags produced lazily, then read whole
    Run(Asm()(ZYDIS_MNEMONIC_SUB, {R(ZYDIS_REGISTER_EAX), R(ZYDIS_REGISTER_EBX)})(ZYDIS_MNEMONIC_LAHF, {}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_ADD, {R(ZYDIS_REGISTER_CL), R(ZYDIS_REGISTER_BL)})(ZYDIS_MNEMONIC_CMC, {}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_SAHF, {})(ZYDIS_MNEMONIC_ADC, {R(ZYDIS_REGISTER_RCX), R(ZYDIS_REGISTER_RBX)}), kAll);
}

INSTANTIATE_TEST_SUITE_P(Backends, IntTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
