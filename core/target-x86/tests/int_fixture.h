// The fixture every int_*_test.cc shares: instructions assembled with Zydis's encoder, run on random
// inputs natively and under the CPU model (each backend), compared with undefined flags masked.
#ifndef EMBER_INT_FIXTURE_H
#define EMBER_INT_FIXTURE_H

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
        backend_ = static_cast<const TCGBackend *>(harness_backend_named(GetParam().c_str()));
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

}  // namespace

#endif
