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

INSTANTIATE_TEST_SUITE_P(Backends, IntTest, ::testing::Values("interp", "jit"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
