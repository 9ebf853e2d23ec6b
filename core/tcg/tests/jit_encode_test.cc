// The JIT's hand-written encoders against Zydis's encoder: the same bytes for every register pair (a byte
// register of number 4..7 is spl..dil, which needs a REX prefix, not ah..bh).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "core/tcg/jit.h"
}

namespace {

struct Buf {
    uint8_t bytes[64];
    JitBuf b;
    Buf() { b = JitBuf{}; b.start = b.p = bytes; b.end = bytes + sizeof(bytes); }
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


// The other hand-written forms against Zydis's encoder of the same instruction, by what both disassemble
// to (Zydis may pick another encoding of the same meaning).
void ExpectSameMeaning(const Buf &mine, const Buf &zydis, const std::string &what)
{
    std::vector<uint8_t> ma = mine.Out(), za = zydis.Out();
    ZydisDisassembledInstruction a, z;
    ASSERT_TRUE(ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, ma.data(), ma.size(), &a))) << what;
    ASSERT_TRUE(ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, za.data(), za.size(), &z))) << what;
    EXPECT_STREQ(a.text, z.text) << what;
    EXPECT_EQ(a.info.length, ma.size()) << what;   // nothing after the one instruction
}

TEST(JitEncode, ConditionalFormsMeanWhatTheySay)
{
    static const ZydisMnemonic set[16] = {
        ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
        ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
        ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
        ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
    };
    static const ZydisMnemonic cmov[16] = {
        ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVNB,
        ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
        ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
        ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE,
    };
    for (int cc = 0; cc < 16; cc++) {
        for (int rd = 0; rd < 16; rd++) {
            Buf mine, zydis;
            jit_setcc(&mine.b, cc, rd);
            jit_ins(&zydis.b, set[cc], 1, jit_r(rd, 8), jit_i(0), jit_i(0));
            ExpectSameMeaning(mine, zydis, "setcc " + std::to_string(cc) + " r" + std::to_string(rd));
            for (int rs = 0; rs < 16; rs++) {
                for (int bits : {32, 64}) {
                    Buf m2, z2;
                    jit_cmov(&m2.b, cc, rd, rs, bits);
                    jit_ins(&z2.b, cmov[cc], 2, jit_r(rd, bits), jit_r(rs, bits), jit_i(0));
                    ExpectSameMeaning(m2, z2, "cmov " + std::to_string(cc) + " " + std::to_string(rd) + ", " +
                                                  std::to_string(rs) + " bits " + std::to_string(bits));
                }
            }
        }
    }
}

TEST(JitEncode, RegisterFormsMeanWhatTheySay)
{
    for (int rd = 0; rd < 16; rd++) {
        for (int bits : {32, 64}) {
            const std::string at = " r" + std::to_string(rd) + " bits " + std::to_string(bits);
            Buf mb, zb;
            jit_bswap(&mb.b, rd, bits);
            jit_ins(&zb.b, ZYDIS_MNEMONIC_BSWAP, 1, jit_r(rd, bits), jit_i(0), jit_i(0));
            ExpectSameMeaning(mb, zb, "bswap" + at);
            for (int ext : {2, 3, 4, 5}) {
                static const ZydisMnemonic group3[8] = {ZYDIS_MNEMONIC_INVALID, ZYDIS_MNEMONIC_INVALID,
                                                        ZYDIS_MNEMONIC_NOT,     ZYDIS_MNEMONIC_NEG,
                                                        ZYDIS_MNEMONIC_MUL,     ZYDIS_MNEMONIC_IMUL};
                Buf mu, zu;
                jit_unary(&mu.b, ext, rd, bits);
                jit_ins(&zu.b, group3[ext], 1, jit_r(rd, bits), jit_i(0), jit_i(0));
                ExpectSameMeaning(mu, zu, "group 3 /" + std::to_string(ext) + at);
            }
            for (int rs = 0; rs < 16; rs++) {
                const std::string pair = at + " src r" + std::to_string(rs);
                const struct {
                    unsigned opcode;
                    ZydisMnemonic m;
                } two_byte[] = {{JOP_IMUL, ZYDIS_MNEMONIC_IMUL}, {JOP_BSF, ZYDIS_MNEMONIC_BSF},
                                {JOP_BSR, ZYDIS_MNEMONIC_BSR}};
                for (const auto &f : two_byte) {
                    Buf m, z;
                    jit_op_reg(&m.b, f.opcode, rd, rs, bits == 64 ? JM_W : 0);
                    jit_ins(&z.b, f.m, 2, jit_r(rd, bits), jit_r(rs, bits), jit_i(0));
                    ExpectSameMeaning(m, z, std::string(ZydisMnemonicGetString(f.m)) + pair);
                }
                for (int32_t imm : {3, -100, 1000, -70000}) {
                    Buf m, z;
                    jit_imul_ri(&m.b, rd, rs, imm, bits);
                    jit_ins(&z.b, ZYDIS_MNEMONIC_IMUL, 3, jit_r(rd, bits), jit_r(rs, bits), jit_i(imm));
                    ExpectSameMeaning(m, z, "imul imm " + std::to_string(imm) + pair);
                }
            }
        }
        for (int rs = 0; rs < 16; rs++) {
            for (int bits : {8, 16}) {
                Buf m, z;
                jit_mov_low(&m.b, rd, rs, bits);
                jit_ins(&z.b, ZYDIS_MNEMONIC_MOV, 2, jit_r(rd, bits), jit_r(rs, bits), jit_i(0));
                ExpectSameMeaning(m, z, "mov low r" + std::to_string(rd) + ", r" + std::to_string(rs) + " bits " +
                                            std::to_string(bits));
            }
        }
    }
}

TEST(JitEncode, MemoryFormsMeanWhatTheySay)
{
    for (int base = 0; base < 16; base++) {
        for (int32_t disp : {0, 0x10, -8, 0x1234}) {
            const std::string at = " base r" + std::to_string(base) + " disp " + std::to_string(disp);
            for (int x = 0; x < 16; x++) {
                Buf ml, zl, ms, zs;
                jit_op_mem(&ml.b, JOP_MOVDQU_LOAD, x, base, -1, disp, JM_F3);
                jit_ins(&zl.b, ZYDIS_MNEMONIC_MOVDQU, 2, jit_r(x, 128), jit_m(base, disp, 16), jit_i(0));
                ExpectSameMeaning(ml, zl, "movdqu load xmm" + std::to_string(x) + at);
                jit_op_mem(&ms.b, JOP_MOVDQU_STORE, x, base, -1, disp, JM_F3);
                jit_ins(&zs.b, ZYDIS_MNEMONIC_MOVDQU, 2, jit_m(base, disp, 16), jit_r(x, 128), jit_i(0));
                ExpectSameMeaning(ms, zs, "movdqu store xmm" + std::to_string(x) + at);
            }
            Buf mj, zj;
            jit_op_mem(&mj.b, 0xff, 4, base, -1, disp, 0);
            jit_ins(&zj.b, ZYDIS_MNEMONIC_JMP, 1, jit_m(base, disp, 8), jit_i(0), jit_i(0));
            ExpectSameMeaning(mj, zj, "jmp" + at);
        }
        Buf mc, zc;
        jit_op_reg(&mc.b, 0xff, 2, base, 0);
        jit_ins(&zc.b, ZYDIS_MNEMONIC_CALL, 1, jit_r(base, 64), jit_i(0), jit_i(0));
        ExpectSameMeaning(mc, zc, "call r" + std::to_string(base));
    }
}

}  // namespace

// The record of what the host flags describe (JitBuf.flags_at), which lets a compare of a just-computed
// register with zero emit nothing: an ALU result sets it; moves to other registers and stores keep it; a
// move into that register, a compare, or any other instruction ends it.
TEST(JitEncode, FlagsOfResultFollowOnlyFlagNeutralInstructions)
{
    Buf a;
    EXPECT_FALSE(jit_flags_of_result(&a.b, JR_R13, 64));
    jit_op_rr(&a.b, JOP_SUB, JR_R14, JR_R13, 64);   // sub r13, r14
    EXPECT_TRUE(jit_flags_of_result(&a.b, JR_R13, 64));
    EXPECT_FALSE(jit_flags_of_result(&a.b, JR_R14, 64));
    EXPECT_FALSE(jit_flags_of_result(&a.b, JR_R13, 32));
    jit_op_rr(&a.b, JOP_MOV_STORE, JR_R14, JR_R12, 64);   // mov r12, r14
    jit_op_rm(&a.b, JOP_MOV_STORE, JR_R12, JR_RBP, 0x40, 64);   // mov [rbp + 0x40], r12
    jit_op_mem(&a.b, JOP_MOV_LOAD, JR_RAX, JR_RBX, JR_RCX, 8, JM_W);   // mov rax, [rbx + rcx + 8]
    EXPECT_TRUE(jit_flags_of_result(&a.b, JR_R13, 64));
    jit_op_rm(&a.b, JOP_MOV_LOAD, JR_R13, JR_RBP, 0x48, 64);   // mov r13, [rbp + 0x48]: another value
    EXPECT_FALSE(jit_flags_of_result(&a.b, JR_R13, 64));

    Buf b;
    jit_alu_ri(&b.b, 4, JR_RDX, 0xff, 32);   // and edx, 0xff
    EXPECT_TRUE(jit_flags_of_result(&b.b, JR_RDX, 32));
    jit_op_rr(&b.b, JOP_CMP, JR_RAX, JR_RDX, 32);   // cmp edx, eax: other flags
    EXPECT_FALSE(jit_flags_of_result(&b.b, JR_RDX, 32));
    jit_alu_ri(&b.b, 7, JR_RDX, 1, 32);   // cmp edx, 1 is not a result either
    EXPECT_FALSE(jit_flags_of_result(&b.b, JR_RDX, 32));
    jit_alu_ri(&b.b, 0, JR_RDX, 1, 32);   // add edx, 1
    jit_shift_ri(&b.b, 4, JR_RAX, 3, 64);  // shl rax, 3: flags of its own
    EXPECT_FALSE(jit_flags_of_result(&b.b, JR_RDX, 32));
}

// Guest accesses at a constant address (a non-PIE program's globals) use no base register: [disp32] and
// [index << scale + disp32], which need a SIB byte with no base (a bare ModRM would be rip-relative).
// Zydis decodes each back to exactly that operand (its encoder prefers a moffs form for rax, which with
// the 0x67 prefix it adds means a 32-bit address: not comparable byte for byte).
TEST(JitEncode, AbsoluteAddressesDecodeAsSuch)
{
    ZydisDecoder dec;
    ASSERT_TRUE(ZYAN_SUCCESS(ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64)));
    for (int reg = 0; reg < 16; reg++) {
        for (int index = -1; index < 16; index++) {
            if (index == JR_RSP) {
                continue;   // no index register
            }
            for (int32_t disp : {0x401000, 0xa8426c, -0x1000, 0}) {
                Buf mine;
                jit_op_mem(&mine.b, JOP_MOV_LOAD, reg, -1, index, disp, JM_W | (index >= 0 ? JM_SCALE(3) : 0));
                std::vector<uint8_t> bytes = mine.Out();
                ZydisDecodedInstruction insn;
                ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
                ASSERT_TRUE(ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes.data(), bytes.size(), &insn, ops)));
                EXPECT_EQ(insn.length, bytes.size());
                EXPECT_EQ(insn.mnemonic, ZYDIS_MNEMONIC_MOV);
                EXPECT_EQ(ops[0].reg.value, jit_r(reg, 64).reg.value);
                EXPECT_EQ(ops[1].mem.base, ZYDIS_REGISTER_NONE) << "reg " << reg << " index " << index;
                EXPECT_EQ(ops[1].mem.index, index >= 0 ? jit_r(index, 64).reg.value : ZYDIS_REGISTER_NONE);
                if (index >= 0) {
                    EXPECT_EQ(ops[1].mem.scale, 8);
                }
                EXPECT_EQ(ops[1].mem.disp.value, disp);
                EXPECT_EQ(insn.address_width, 64);
            }
        }
    }
}
