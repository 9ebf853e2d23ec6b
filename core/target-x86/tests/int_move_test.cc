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

namespace {

constexpr uint32_t kAll = HARNESS_ALL_FLAGS;
constexpr uint32_t CF = HARNESS_CF, PF = HARNESS_PF, AF = HARNESS_AF, ZF = HARNESS_ZF, SF = HARNESS_SF,
                   OF = HARNESS_OF, DF = HARNESS_DF;

// Registers by width index (0: 8 bits ... 3: 64 bits).
const ZydisRegister kA[] = {ZYDIS_REGISTER_AL, ZYDIS_REGISTER_AX, ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_RAX};
const ZydisRegister kB[] = {ZYDIS_REGISTER_BL, ZYDIS_REGISTER_BX, ZYDIS_REGISTER_EBX, ZYDIS_REGISTER_RBX};
const ZydisRegister kC[] = {ZYDIS_REGISTER_CL, ZYDIS_REGISTER_CX, ZYDIS_REGISTER_ECX, ZYDIS_REGISTER_RCX};
const ZydisRegister kD[] = {ZYDIS_REGISTER_DL, ZYDIS_REGISTER_DX, ZYDIS_REGISTER_EDX, ZYDIS_REGISTER_RDX};
const ZydisRegister kR9[] = {ZYDIS_REGISTER_R9B, ZYDIS_REGISTER_R9W, ZYDIS_REGISTER_R9D, ZYDIS_REGISTER_R9};
const unsigned kBytes[] = {1, 2, 4, 8};

ZydisEncoderOperand R(ZydisRegister r) { return harness_reg(r); }
ZydisEncoderOperand I(int64_t v) { return harness_imm(v); }
// [rdi + 0x40] of `bytes`; the setup points RDI into the data buffer.
ZydisEncoderOperand M(unsigned bytes) { return harness_mem(bytes, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_NONE, 0, 0x40); }

struct Asm {
    HarnessCode code = {};
    std::string failed_at;   // the first instruction that did not encode
    Asm &operator()(ZydisMnemonic m, std::initializer_list<ZydisEncoderOperand> ops)
    {
        bool was_failed = code.failed;
        const ZydisEncoderOperand *o = ops.begin();
        switch (ops.size()) {
        case 0: harness_emit(&code, m, 0); break;
        case 1: harness_emit(&code, m, 1, o[0]); break;
        case 2: harness_emit(&code, m, 2, o[0], o[1]); break;
        default: harness_emit(&code, m, 3, o[0], o[1], o[2]); break;
        }
        if (code.failed && !was_failed) {
            failed_at = ZydisMnemonicGetString(m);
        }
        return *this;
    }
    Asm &lock() { harness_emit_bytes(&code, "\xf0", 1); return *this; }
    std::vector<uint8_t> bytes() const { return std::vector<uint8_t>(code.bytes, code.bytes + code.len); }
};

// Random input adjustments: RDI at the data buffer; RBX (a bit offset for BT) small and signed; RCX
// (a shift count) sometimes 0 or 1.
void RandomSetup(HarnessState *s, HarnessRng *r, void *)
{
    s->regs[HR_RDI] = HARNESS_DATA_ADDR + 0x200;
    if (harness_rng_next(r) % 2) {
        s->regs[HR_RBX] = (uint64_t)((int64_t)(harness_rng_next(r) % 4096) - 2048);
    }
    uint64_t pick = harness_rng_next(r) % 8;
    if (pick < 2) {
        s->regs[HR_RCX] = (s->regs[HR_RCX] & ~0xffULL) | pick;
    } else if (pick < 4) {
        s->regs[HR_RCX] = (s->regs[HR_RCX] & ~0xffULL) | (pick == 2 ? 64 : 32);
    }
}

class IntTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override
    {
        backend_ = tcg_backend_find(GetParam().c_str());
        if (!backend_) GTEST_SKIP() << "no backend called " << GetParam();
    }

    // Runs `a` on random inputs; expects no difference.
    void Run(const Asm &a, uint32_t flags, uint32_t ignore_regs = 0, int iterations = 40,
             void (*setup)(HarnessState *, HarnessRng *, void *) = RandomSetup)
    {
        ASSERT_FALSE(a.code.failed) << "encoding failed: " << a.failed_at;
        std::vector<uint8_t> bytes = a.bytes();
        HarnessCase c = {};
        c.code = bytes.data();
        c.len = bytes.size();
        c.flags_mask = flags | DF;
        c.ignore_regs = ignore_regs;
        c.backend = backend_;
        uint64_t seed = 0x1234 + (uint64_t)bytes.size() * 77 + bytes[0] * 131 + bytes.back();
        int bad = harness_compare_random_ex(&c, iterations, seed, setup, nullptr);
        EXPECT_EQ(bad, 0) << "code bytes: " << Hex(bytes);
    }

    static std::string Hex(const std::vector<uint8_t> &b)
    {
        std::string s;
        char buf[4];
        for (uint8_t x : b) {
            snprintf(buf, sizeof(buf), "%02x ", x);
            s += buf;
        }
        return s;
    }

    const TCGBackend *backend_ = nullptr;
};

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

INSTANTIATE_TEST_SUITE_P(Backends, IntTest, ::testing::Values("interp", "jit"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
