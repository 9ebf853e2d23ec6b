// SSE..SSE4.2, AES-NI and PCLMULQDQ instructions, host-executed: native vs emulated on random inputs.
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/target-x86/tests/harness.h"
extern "C" {
#include "core/tcg/backend.h"
}

#include "core/target-x86/tests/vec_fixture.h"

namespace vectest {

using X = ZydisRegister;
constexpr X X0 = ZYDIS_REGISTER_XMM0, X1 = ZYDIS_REGISTER_XMM1, X2 = ZYDIS_REGISTER_XMM2, X3 = ZYDIS_REGISTER_XMM3;
constexpr X X9 = ZYDIS_REGISTER_XMM9, X15 = ZYDIS_REGISTER_XMM15;

class VecSseTest : public VecTest {};

struct OneInsn {
    ZydisMnemonic m;
    std::vector<ZydisEncoderOperand> ops;
};

// A sample of every family, register and memory forms; random inputs include NaNs, denormals, infinities.
TEST_P(VecSseTest, Families)
{
    const std::vector<OneInsn> cases = {
        // SSE
        {ZYDIS_MNEMONIC_ADDPS, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_ADDSS, {R(X2), M(4, 4)}},
        {ZYDIS_MNEMONIC_MULPS, {R(X9), M(16)}},
        {ZYDIS_MNEMONIC_DIVSS, {R(X3), R(X15)}},
        {ZYDIS_MNEMONIC_SQRTPS, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_RSQRTPS, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_MAXPS, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_CMPPS, {R(X1), R(X2), I(3)}},
        {ZYDIS_MNEMONIC_SHUFPS, {R(X1), R(X2), I(0x1b)}},
        {ZYDIS_MNEMONIC_UNPCKHPS, {R(X1), M(16, 16)}},
        {ZYDIS_MNEMONIC_MOVSS, {M(4, 8), R(X3)}},
        {ZYDIS_MNEMONIC_MOVSS, {R(X3), M(4, 8)}},
        {ZYDIS_MNEMONIC_MOVHPS, {R(X3), M(8)}},
        {ZYDIS_MNEMONIC_MOVAPS, {M(16, 32), R(X9)}},
        {ZYDIS_MNEMONIC_MOVMSKPS, {R(ZYDIS_REGISTER_EAX), R(X9)}},
        {ZYDIS_MNEMONIC_CVTSI2SS, {R(X1), R(ZYDIS_REGISTER_RCX)}},
        {ZYDIS_MNEMONIC_CVTTSS2SI, {R(ZYDIS_REGISTER_R12D), R(X1)}},
        // SSE2
        {ZYDIS_MNEMONIC_ADDPD, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_DIVSD, {R(X0), M(8, 8)}},
        {ZYDIS_MNEMONIC_SQRTSD, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_CVTSI2SD, {R(X2), R(ZYDIS_REGISTER_RAX)}},
        {ZYDIS_MNEMONIC_CVTSI2SD, {R(X2), M(4)}},
        {ZYDIS_MNEMONIC_CVTSD2SI, {R(ZYDIS_REGISTER_RDX), R(X1)}},
        {ZYDIS_MNEMONIC_CVTTSD2SI, {R(ZYDIS_REGISTER_ESI), M(8)}},
        {ZYDIS_MNEMONIC_CVTPS2PD, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_CVTPD2DQ, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_MOVD, {R(ZYDIS_REGISTER_EBP), R(X3)}},
        {ZYDIS_MNEMONIC_MOVD, {R(X3), R(ZYDIS_REGISTER_R15D)}},
        {ZYDIS_MNEMONIC_MOVQ, {R(X3), R(ZYDIS_REGISTER_RDI)}},
        {ZYDIS_MNEMONIC_MOVQ, {R(ZYDIS_REGISTER_RBX), R(X3)}},
        {ZYDIS_MNEMONIC_MOVQ, {R(X3), R(X9)}},
        {ZYDIS_MNEMONIC_PADDB, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PSUBUSW, {R(X0), M(16)}},
        {ZYDIS_MNEMONIC_PMULUDQ, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PMADDWD, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PSADBW, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PSRAW, {R(X0), I(3)}},
        {ZYDIS_MNEMONIC_PSLLQ, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PSRLDQ, {R(X0), I(5)}},
        {ZYDIS_MNEMONIC_PSHUFD, {R(X0), R(X1), I(0x4e)}},
        {ZYDIS_MNEMONIC_PSHUFHW, {R(X0), M(16), I(0x4e)}},
        {ZYDIS_MNEMONIC_PACKSSDW, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PUNPCKLBW, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PCMPGTD, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PMOVMSKB, {R(ZYDIS_REGISTER_ECX), R(X1)}},
        {ZYDIS_MNEMONIC_PEXTRW, {R(ZYDIS_REGISTER_EAX), R(X1), I(5)}},
        {ZYDIS_MNEMONIC_PINSRW, {R(X1), R(ZYDIS_REGISTER_EDX), I(6)}},
        {ZYDIS_MNEMONIC_MOVDQU, {M(16, 3), R(X1)}},
        {ZYDIS_MNEMONIC_MOVNTDQ, {M(16, 64), R(X1)}},
        {ZYDIS_MNEMONIC_MOVNTI, {M(8, 8), R(ZYDIS_REGISTER_RAX)}},
        // SSE3, SSSE3
        {ZYDIS_MNEMONIC_HADDPS, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_ADDSUBPD, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_MOVDDUP, {R(X0), M(8)}},
        {ZYDIS_MNEMONIC_LDDQU, {R(X0), M(16, 1)}},
        {ZYDIS_MNEMONIC_PSHUFB, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PALIGNR, {R(X0), R(X1), I(7)}},
        {ZYDIS_MNEMONIC_PMULHRSW, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PHADDSW, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PSIGNB, {R(X0), R(X1)}},
        // SSE4.1
        {ZYDIS_MNEMONIC_PMULLD, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PMINSB, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PMOVZXBW, {R(X0), M(8)}},
        {ZYDIS_MNEMONIC_PMOVSXWQ, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_PEXTRD, {R(ZYDIS_REGISTER_R9D), R(X1), I(2)}},
        {ZYDIS_MNEMONIC_PEXTRQ, {M(8), R(X1), I(1)}},
        {ZYDIS_MNEMONIC_PEXTRB, {R(ZYDIS_REGISTER_EAX), R(X1), I(13)}},
        {ZYDIS_MNEMONIC_PINSRQ, {R(X1), R(ZYDIS_REGISTER_R11), I(1)}},
        {ZYDIS_MNEMONIC_PINSRB, {R(X1), M(1, 5), I(9)}},
        {ZYDIS_MNEMONIC_EXTRACTPS, {R(ZYDIS_REGISTER_EAX), R(X1), I(3)}},
        {ZYDIS_MNEMONIC_INSERTPS, {R(X1), R(X2), I(0x5a)}},
        {ZYDIS_MNEMONIC_BLENDVPS, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_PBLENDVB, {R(X1), M(16)}},
        {ZYDIS_MNEMONIC_BLENDPD, {R(X1), R(X2), I(2)}},
        {ZYDIS_MNEMONIC_ROUNDSD, {R(X1), R(X2), I(1)}},
        {ZYDIS_MNEMONIC_ROUNDPS, {R(X1), R(X2), I(4)}},
        {ZYDIS_MNEMONIC_DPPS, {R(X1), R(X2), I(0xf3)}},
        {ZYDIS_MNEMONIC_MPSADBW, {R(X1), R(X2), I(5)}},
        {ZYDIS_MNEMONIC_PHMINPOSUW, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_MOVNTDQA, {R(X1), M(16, 16)}},
        {ZYDIS_MNEMONIC_PACKUSDW, {R(X1), R(X2)}},
        // SSE4.2 (string compares read RAX/RDX and write RCX or XMM0)
        {ZYDIS_MNEMONIC_PCMPGTQ, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_PCMPESTRI, {R(X1), R(X2), I(0x0c)}},
        {ZYDIS_MNEMONIC_PCMPESTRM, {R(X1), M(16), I(0x44)}},
        {ZYDIS_MNEMONIC_PCMPISTRI, {R(X1), R(X2), I(0x1a)}},
        {ZYDIS_MNEMONIC_PCMPISTRM, {R(X3), R(X2), I(0x40)}},
        // AES-NI, PCLMULQDQ
        {ZYDIS_MNEMONIC_AESENC, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_AESDECLAST, {R(X1), M(16)}},
        {ZYDIS_MNEMONIC_AESIMC, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_AESKEYGENASSIST, {R(X1), R(X2), I(0x1b)}},
        {ZYDIS_MNEMONIC_PCLMULQDQ, {R(X1), R(X2), I(0x11)}},
        // SHA (SHA256RNDS2 reads XMM0 implicitly)
        {ZYDIS_MNEMONIC_SHA1RNDS4, {R(X1), R(X2), I(2)}},
        {ZYDIS_MNEMONIC_SHA1NEXTE, {R(X1), M(16)}},
        {ZYDIS_MNEMONIC_SHA256RNDS2, {R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_SHA256MSG2, {R(X1), R(X2)}},
    };
    uint64_t seed = 100;
    for (const OneInsn &c : cases) {
        std::vector<uint8_t> code = Insn(c.m, c.ops);
        EXPECT_EQ(Random(code, 40, seed++), 0) << ZydisMnemonicGetString(c.m);
    }
}

// Flag-setting compares and tests: the host's RFLAGS becomes the guest's.
TEST_P(VecSseTest, FlagWriters)
{
    const std::vector<OneInsn> cases = {
        {ZYDIS_MNEMONIC_COMISS, {R(X0), R(X1)}},
        {ZYDIS_MNEMONIC_UCOMISD, {R(X0), M(8)}},
        {ZYDIS_MNEMONIC_PTEST, {R(X0), R(X1)}},
    };
    uint64_t seed = 7;
    for (const OneInsn &c : cases) {
        std::vector<uint8_t> code = Insn(c.m, c.ops);
        EXPECT_EQ(Random(code, 60, seed++), 0) << ZydisMnemonicGetString(c.m);
    }
    // Equal, less, unordered, and a flag read after the compare.
    const double pairs[][2] = {{1.0, 1.0}, {1.0, 2.0}, {3.0, -1.0}, {0.0 / 0.0, 1.0}};
    for (const auto &p : pairs) {
        memcpy(&in_->ymm[0].f[0], &p[0], 8);
        memcpy(&in_->ymm[1].f[0], &p[1], 8);
        HarnessCode code = {};
        Append(&code, ZYDIS_MNEMONIC_COMISD, {R(X0), R(X1)});
        Append(&code, ZYDIS_MNEMONIC_SETB, {R(ZYDIS_REGISTER_AL)});
        Append(&code, ZYDIS_MNEMONIC_SETZ, {R(ZYDIS_REGISTER_CL)});
        Append(&code, ZYDIS_MNEMONIC_SETP, {R(ZYDIS_REGISTER_DL)});
        ASSERT_FALSE(code.failed);
        EXPECT_TRUE(Check(std::vector<uint8_t>(code.bytes, code.bytes + code.len)));
    }
}

// Legacy SSE leaves the upper half of the YMM register alone.
TEST_P(VecSseTest, LegacySseKeepsUpperHalves)
{
    in_->ymm[1].q[2] = 0x1111222233334444ULL;
    in_->ymm[1].q[3] = 0x5555666677778888ULL;
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_PADDD, {R(X1), R(X2)})));
    EXPECT_EQ(emulated_->state.ymm[1].q[3], 0x5555666677778888ULL);
}

// MXCSR rounding modes, DAZ and FTZ apply to the guest's instructions.
TEST_P(VecSseTest, MxcsrRoundingModes)
{
    for (uint32_t rc = 0; rc < 4; rc++) {
        for (uint32_t extra : {0u, 0x8040u}) {   // FTZ|DAZ
            struct Arg {
                uint32_t mxcsr;
            } arg = {0x1f80 | (rc << 13) | extra};
            auto setup = [](HarnessState *s, HarnessRng *, void *a) {
                s->regs[HR_RBX] = kDataBase;
                s->fx.mxcsr = static_cast<Arg *>(a)->mxcsr;
            };
            EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_DIVPS, {R(X0), R(X1)}), 30, 50 + rc, setup, &arg), 0);
            EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_CVTSD2SI, {R(ZYDIS_REGISTER_EAX), R(X1)}), 30, 60 + rc, setup, &arg),
                      0);
            EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_CVTPD2PS, {R(X2), R(X1)}), 30, 70 + rc, setup, &arg), 0);
        }
    }
}

// An unmasked SIMD exception is #XM (SIGFPE) at the instruction, with the destination unchanged.
TEST_P(VecSseTest, UnmaskedExceptionIsSigfpe)
{
    in_->fx.mxcsr = 0x1f80 & ~0x200;   // unmask divide-by-zero
    in_->ymm[0].s[0] = 1.0f;
    in_->ymm[1].s[0] = 0.0f;
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_DIVSS, {R(X0), R(X1)})));
    EXPECT_EQ(native_->signo, SIGFPE);
    EXPECT_EQ(emulated_->signo, SIGFPE);
    EXPECT_EQ(emulated_->state.ymm[0].s[0], 1.0f);
    // Masked or not raised: no fault, and the sticky flags agree.
    in_->ymm[1].s[0] = 2.0f;
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_DIVSS, {R(X0), R(X1)})));
    EXPECT_EQ(emulated_->status, HARNESS_DONE);
}

// LDMXCSR/STMXCSR, and LDMXCSR's #GP on reserved bits.
TEST_P(VecSseTest, LdmxcsrStmxcsr)
{
    uint32_t v = 0x7f80 | 0x3;   // round toward -inf plus two sticky flags
    memcpy(harness_data(in_.get()) + 0x400, &v, 4);
    HarnessCode code = {};
    Append(&code, ZYDIS_MNEMONIC_LDMXCSR, {M(4)});
    Append(&code, ZYDIS_MNEMONIC_ADDSS, {R(X0), R(X1)});
    Append(&code, ZYDIS_MNEMONIC_STMXCSR, {M(4, 16)});
    ASSERT_FALSE(code.failed);
    EXPECT_TRUE(Check(std::vector<uint8_t>(code.bytes, code.bytes + code.len)));
    v = 0x10000;
    memcpy(harness_data(in_.get()) + 0x400, &v, 4);
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_LDMXCSR, {M(4)})));
    EXPECT_EQ(emulated_->signo, SIGSEGV);   // #GP
}

// A memory operand on an unmapped page faults before anything changes.
TEST_P(VecSseTest, FaultingMemoryOperand)
{
    in_->regs[HR_RBX] = HARNESS_MEM_ADDR + HARNESS_MEM_SIZE + 0x10;
    in_->ymm[0].q[0] = 42;
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_ADDPD, {R(X0), M(16)})));
    EXPECT_EQ(emulated_->signo, SIGSEGV);
    EXPECT_EQ(emulated_->state.ymm[0].q[0], 42u);
}

// Aligned forms #GP (SIGSEGV) on a misaligned operand; the unaligned ones do not.
TEST_P(VecSseTest, Alignment)
{
    in_->regs[HR_RBX] = kDataBase + 4;
    const std::vector<OneInsn> cases = {
        {ZYDIS_MNEMONIC_MOVAPS, {R(X1), M(16)}},  {ZYDIS_MNEMONIC_ADDPD, {R(X1), M(16)}},
        {ZYDIS_MNEMONIC_MOVUPS, {R(X1), M(16)}},  {ZYDIS_MNEMONIC_ADDSD, {R(X1), M(8)}},
        {ZYDIS_MNEMONIC_PCMPISTRI, {R(X1), M(16), I(0)}}, {ZYDIS_MNEMONIC_MOVNTDQ, {M(16), R(X1)}},
    };
    for (const OneInsn &c : cases) {
        EXPECT_TRUE(Check(Insn(c.m, c.ops))) << ZydisMnemonicGetString(c.m);
    }
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_MOVAPS, {R(X1), M(16)})));
    EXPECT_EQ(emulated_->signo, SIGSEGV);
}

// SSE2's MOVSD and CMPSD share their mnemonics with the string instructions.
TEST_P(VecSseTest, MovsdCmpsd)
{
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_MOVSD, {R(X1), M(8)}), 20, 1), 0);
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_MOVSD, {M(8, 8), R(X1)}), 20, 2), 0);
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_MOVSD, {R(X1), R(X2)}), 20, 3), 0);
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_CMPSD, {R(X1), R(X2), I(5)}), 20, 4), 0);
}

// MASKMOVDQU stores through the implicit [rdi].
TEST_P(VecSseTest, Maskmovdqu)
{
    auto setup = [](HarnessState *s, HarnessRng *, void *) { s->regs[HR_RDI] = kDataBase + 3; };
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_MASKMOVDQU, {R(X1), R(X2)}), 30, 9, setup), 0);
}

VEC_INSTANTIATE(VecSseTest);

}  // namespace vectest
