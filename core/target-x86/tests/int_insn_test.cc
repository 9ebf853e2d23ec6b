// The integer instructions, native against emulated (both backends), on random inputs: every width, the
// register, memory and immediate forms, with the flags the manual defines (undefined ones are masked).
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

// Division inputs: mostly a quotient that fits (a high half smaller than the divisor), sometimes not.
void SetupDiv(HarnessState *s, HarnessRng *r, void *arg)
{
    RandomSetup(s, r, arg);
    if (harness_rng_next(r) % 8) {
        s->regs[HR_RDX] = harness_rng_next(r) % 3;
        s->regs[HR_RAX] &= (harness_rng_next(r) % 2) ? ~0ULL : 0xffff;
    }
    if (harness_rng_next(r) % 8 == 0) {
        s->regs[HR_RBX] = ~0ULL;   /* -1: the INT_MIN / -1 overflow */
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

TEST_P(IntTest, Shifts)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR, ZYDIS_MNEMONIC_SAR};
    for (ZydisMnemonic m : ops) {
        for (int w = 0; w < 4; w++) {
            // OF is defined for count 1 only, AF never
            Run(Asm()(m, {R(kA[w]), I(1)}), kAll & ~AF);
            Run(Asm()(m, {M(kBytes[w]), I(1)}), kAll & ~AF);
            Run(Asm()(m, {R(kA[w]), R(ZYDIS_REGISTER_CL)}), kAll & ~(AF | OF));
            Run(Asm()(m, {M(kBytes[w]), R(ZYDIS_REGISTER_CL)}), kAll & ~(AF | OF));
            Run(Asm()(m, {R(kR9[w]), I(w == 0 ? 7 : 13)}), kAll & ~(AF | OF));
            Run(Asm()(m, {R(kR9[w]), I(0)}), kAll);
        }
    }
}

TEST_P(IntTest, Rotates)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_ROL, ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL, ZYDIS_MNEMONIC_RCR};
    for (ZydisMnemonic m : ops) {
        for (int w = 0; w < 4; w++) {
            Run(Asm()(m, {R(kA[w]), I(1)}), kAll);
            Run(Asm()(m, {M(kBytes[w]), I(1)}), kAll);
            Run(Asm()(m, {R(kA[w]), R(ZYDIS_REGISTER_CL)}), kAll & ~OF);
            Run(Asm()(m, {M(kBytes[w]), R(ZYDIS_REGISTER_CL)}), kAll & ~OF);
            Run(Asm()(m, {R(kR9[w]), I(w == 0 ? 9 : 17)}), kAll & ~OF);
        }
    }
}

TEST_P(IntTest, DoubleShifts)
{
    const ZydisMnemonic ops[] = {ZYDIS_MNEMONIC_SHLD, ZYDIS_MNEMONIC_SHRD};
    for (ZydisMnemonic m : ops) {
        for (int w = 1; w < 4; w++) {
            Run(Asm()(m, {R(kA[w]), R(kB[w]), I(1)}), kAll & ~AF);
            Run(Asm()(m, {M(kBytes[w]), R(kB[w]), I(w == 1 ? 9 : 21)}), kAll & ~(AF | OF));
            // counts above the width of a 16-bit operand leave an undefined result: only 32/64 take CL
            if (w > 1) {
                Run(Asm()(m, {R(kA[w]), R(kB[w]), R(ZYDIS_REGISTER_CL)}), kAll & ~(AF | OF));
                Run(Asm()(m, {M(kBytes[w]), R(kB[w]), R(ZYDIS_REGISTER_CL)}), kAll & ~(AF | OF));
            }
        }
    }
}

TEST_P(IntTest, Bmi2ShiftsAndRotate)
{
    for (int w = 2; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_SHLX, {R(kA[w]), R(kB[w]), R(kC[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_SHRX, {R(kA[w]), M(kBytes[w]), R(kC[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_SARX, {R(kA[w]), R(kB[w]), R(kC[w])}), kAll);
        Run(Asm()(ZYDIS_MNEMONIC_RORX, {R(kA[w]), R(kB[w]), I(w == 2 ? 7 : 45)}), kAll);
    }
}

TEST_P(IntTest, Multiply)
{
    const uint32_t mulflags = CF | OF;
    for (int w = 0; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_MUL, {R(kB[w])}), mulflags);
        Run(Asm()(ZYDIS_MNEMONIC_MUL, {M(kBytes[w])}), mulflags);
        Run(Asm()(ZYDIS_MNEMONIC_IMUL, {R(kB[w])}), mulflags);
        Run(Asm()(ZYDIS_MNEMONIC_IMUL, {M(kBytes[w])}), mulflags);
        if (w > 0) {
            Run(Asm()(ZYDIS_MNEMONIC_IMUL, {R(kA[w]), R(kB[w])}), mulflags);
            Run(Asm()(ZYDIS_MNEMONIC_IMUL, {R(kA[w]), M(kBytes[w])}), mulflags);
            Run(Asm()(ZYDIS_MNEMONIC_IMUL, {R(kA[w]), R(kB[w]), I(-7)}), mulflags);
            Run(Asm()(ZYDIS_MNEMONIC_IMUL, {R(kR9[w]), M(kBytes[w]), I(0x1234)}), mulflags);
        }
    }
    Run(Asm()(ZYDIS_MNEMONIC_MULX, {R(ZYDIS_REGISTER_EAX), R(ZYDIS_REGISTER_ECX), R(ZYDIS_REGISTER_EBX)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_MULX, {R(ZYDIS_REGISTER_RAX), R(ZYDIS_REGISTER_RCX), M(8)}), kAll);
    Run(Asm()(ZYDIS_MNEMONIC_MULX, {R(ZYDIS_REGISTER_RAX), R(ZYDIS_REGISTER_RAX), R(ZYDIS_REGISTER_RBX)}), kAll);
}

TEST_P(IntTest, Divide)
{
    for (int w = 0; w < 4; w++) {
        Run(Asm()(ZYDIS_MNEMONIC_DIV, {R(kB[w])}), 0, 0, 100, SetupDiv);
        Run(Asm()(ZYDIS_MNEMONIC_IDIV, {R(kB[w])}), 0, 0, 100, SetupDiv);
        Run(Asm()(ZYDIS_MNEMONIC_DIV, {M(kBytes[w])}), 0, 0, 60, SetupDiv);
        Run(Asm()(ZYDIS_MNEMONIC_IDIV, {M(kBytes[w])}), 0, 0, 60, SetupDiv);
    }
}

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
