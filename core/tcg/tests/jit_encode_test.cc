// The JIT's hand-written encoders against Zydis's encoder: the same bytes for every register pair (a byte
// register of number 4..7 is spl..dil, which needs a REX prefix, not ah..bh).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

extern "C" {
#include "core/tcg/jit.h"
}

namespace {

struct Buf {
    uint8_t bytes[64];
    JitBuf b;
    Buf() { b = JitBuf{bytes, bytes, bytes + sizeof(bytes), false, false}; }
    std::vector<uint8_t> Out() const
    {
        EXPECT_FALSE(b.overflow || b.error);
        return std::vector<uint8_t>(static_cast<const uint8_t *>(bytes), static_cast<const uint8_t *>(b.p));
    }
};

TEST(JitEncode, ExtendMatchesZydis)
{
    struct Form {
        int from, to;
        bool sign;
        ZydisMnemonic m;
    } forms[] = {
        {8, 32, false, ZYDIS_MNEMONIC_MOVZX}, {16, 32, false, ZYDIS_MNEMONIC_MOVZX},
        {8, 32, true, ZYDIS_MNEMONIC_MOVSX},  {8, 64, true, ZYDIS_MNEMONIC_MOVSX},
        {16, 32, true, ZYDIS_MNEMONIC_MOVSX}, {16, 64, true, ZYDIS_MNEMONIC_MOVSX},
        {32, 64, true, ZYDIS_MNEMONIC_MOVSXD},
    };
    for (const Form &f : forms) {
        for (int rd = 0; rd < 16; rd++) {
            for (int ra = 0; ra < 16; ra++) {
                Buf mine, zydis;
                jit_extend(&mine.b, rd, ra, f.from, f.sign, f.to);
                jit_ins(&zydis.b, f.m, 2, jit_r(rd, f.to), jit_r(ra, f.from), jit_i(0));
                EXPECT_EQ(mine.Out(), zydis.Out()) << f.from << " -> " << f.to << (f.sign ? " signed" : "")
                                                   << " rd " << rd << " ra " << ra;
            }
        }
    }
}

TEST(JitEncode, CompareMemoryAndTestImmediate)
{
    for (int base = 0; base < 16; base++) {
        if ((base & 7) == 4) {
            continue;   // rsp/r12 need a SIB byte, which jit_op_rm does not emit (no caller passes them)
        }
        for (int32_t imm : {0, 1, -1, 127, 128, -129, 0x12345678}) {
            for (int32_t disp : {0x10, -8, 0x1234}) {
                Buf mine, zydis;
                jit_alu_mi(&mine.b, 7, base, disp, imm, 32);
                jit_ins(&zydis.b, ZYDIS_MNEMONIC_CMP, 2, jit_m(base, disp, 4), jit_i(imm), jit_i(0));
                // Zydis may pick a shorter displacement for 0 with rbp/r13; compare the meaning instead
                // where the lengths differ: both must decode to the same operands.
                ZydisDisassembledInstruction a, z;
                std::vector<uint8_t> ma = mine.Out(), za = zydis.Out();
                ASSERT_TRUE(ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, ma.data(), ma.size(), &a)));
                ASSERT_TRUE(ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, za.data(), za.size(), &z)));
                EXPECT_STREQ(a.text, z.text) << "base " << base << " disp " << disp << " imm " << imm;
                EXPECT_EQ(a.info.length, ma.size());
            }
        }
    }
    for (int reg = 0; reg < 16; reg++) {
        for (int bits : {32, 64}) {
            Buf mine;
            jit_test_ri(&mine.b, reg, -2, bits);
            std::vector<uint8_t> m = mine.Out();
            ZydisDisassembledInstruction a;
            ASSERT_TRUE(ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, m.data(), m.size(), &a)));
            EXPECT_EQ(a.info.mnemonic, ZYDIS_MNEMONIC_TEST);
            EXPECT_EQ(a.info.length, m.size());
            EXPECT_EQ(a.operands[0].reg.value, jit_r(reg, bits).reg.value);
            EXPECT_EQ(a.operands[1].imm.value.s, -2);
        }
    }
}

// Group-1 register-immediate forms (jit_alu_ri, through jit_op_rr) by what they disassemble to: Zydis may
// pick the short rax forms, so the bytes differ where the meaning does not.
TEST(JitEncode, AluRegisterImmediateMeansWhatItSays)
{
    const ZydisMnemonic ops[8] = {ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR,  ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB,
                                  ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP};
    for (int ext = 0; ext < 8; ext++) {
        for (int reg = 0; reg < 16; reg++) {
            for (int bits : {32, 64}) {
                for (int32_t imm : {1, -2, 300, -70000}) {
                    Buf mine, zydis;
                    jit_alu_ri(&mine.b, ext, reg, imm, bits);
                    jit_ins(&zydis.b, ops[ext], 2, jit_r(reg, bits), jit_i(imm), jit_i(0));
                    std::vector<uint8_t> ma = mine.Out(), za = zydis.Out();
                    ZydisDisassembledInstruction a, z;
                    ASSERT_TRUE(ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, ma.data(), ma.size(), &a)));
                    ASSERT_TRUE(ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, za.data(), za.size(), &z)));
                    EXPECT_STREQ(a.text, z.text) << "ext " << ext << " reg " << reg << " bits " << bits;
                    EXPECT_EQ(a.info.length, ma.size());
                }
            }
        }
    }
}

}  // namespace
