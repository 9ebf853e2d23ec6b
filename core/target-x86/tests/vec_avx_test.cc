// AVX, AVX2, FMA and F16C instructions (VEX), host-executed, and the AVX2 gathers: native vs emulated.
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
constexpr X Y0 = ZYDIS_REGISTER_YMM0, Y1 = ZYDIS_REGISTER_YMM1, Y2 = ZYDIS_REGISTER_YMM2, Y3 = ZYDIS_REGISTER_YMM3;
constexpr X Y8 = ZYDIS_REGISTER_YMM8, Y14 = ZYDIS_REGISTER_YMM14;

class VecAvxTest : public VecTest {
  protected:
    void SetUp() override
    {
        VecTest::SetUp();
        if (!IsSkipped() && !harness_host_has_avx()) GTEST_SKIP() << "the host has no AVX";
    }
};

static ZydisEncoderOperand Is4(ZydisRegister r)
{
    ZydisEncoderOperand o = R(r);
    o.reg.is4 = ZYAN_TRUE;
    return o;
}

struct OneInsn {
    ZydisMnemonic m;
    std::vector<ZydisEncoderOperand> ops;
};

TEST_P(VecAvxTest, Families)
{
    const std::vector<OneInsn> cases = {
        // AVX: 256-bit and 128-bit forms (VEX.128 zeroes the upper half)
        {ZYDIS_MNEMONIC_VADDPS, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VADDPS, {R(X0), R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_VMULPD, {R(Y8), R(Y1), M(32)}},
        {ZYDIS_MNEMONIC_VDIVSD, {R(X3), R(X1), M(8, 8)}},
        {ZYDIS_MNEMONIC_VSQRTPS, {R(Y3), R(Y14)}},
        {ZYDIS_MNEMONIC_VCMPPS, {R(Y3), R(Y1), R(Y2), I(0x11)}},
        {ZYDIS_MNEMONIC_VBLENDVPS, {R(Y3), R(Y1), R(Y2), Is4(Y8)}},
        {ZYDIS_MNEMONIC_VPERMILPS, {R(Y3), R(Y1), I(0x93)}},
        {ZYDIS_MNEMONIC_VPERM2F128, {R(Y3), R(Y1), R(Y2), I(0x21)}},
        {ZYDIS_MNEMONIC_VINSERTF128, {R(Y3), R(Y1), R(X2), I(1)}},
        {ZYDIS_MNEMONIC_VEXTRACTF128, {M(16, 16), R(Y1), I(1)}},
        {ZYDIS_MNEMONIC_VBROADCASTSS, {R(Y3), M(4)}},
        {ZYDIS_MNEMONIC_VBROADCASTF128, {R(Y3), M(16)}},
        {ZYDIS_MNEMONIC_VMOVUPS, {M(32, 5), R(Y2)}},
        {ZYDIS_MNEMONIC_VMOVAPD, {R(Y2), M(32, 32)}},
        {ZYDIS_MNEMONIC_VMOVMSKPD, {R(ZYDIS_REGISTER_EAX), R(Y2)}},
        {ZYDIS_MNEMONIC_VCVTDQ2PD, {R(Y2), R(X1)}},
        {ZYDIS_MNEMONIC_VCVTTPD2DQ, {R(X2), R(Y1)}},
        {ZYDIS_MNEMONIC_VCVTSI2SD, {R(X2), R(X1), R(ZYDIS_REGISTER_R10)}},
        {ZYDIS_MNEMONIC_VCVTSS2SI, {R(ZYDIS_REGISTER_RCX), R(X1)}},
        {ZYDIS_MNEMONIC_VMOVD, {R(X2), R(ZYDIS_REGISTER_EDX)}},
        {ZYDIS_MNEMONIC_VPEXTRQ, {R(ZYDIS_REGISTER_RSI), R(X2), I(1)}},
        {ZYDIS_MNEMONIC_VROUNDPD, {R(Y2), R(Y1), I(2)}},
        {ZYDIS_MNEMONIC_VDPPS, {R(Y2), R(Y1), R(Y0), I(0x71)}},
        {ZYDIS_MNEMONIC_VMASKMOVPS, {R(Y2), R(Y1), M(32)}},
        {ZYDIS_MNEMONIC_VMASKMOVPD, {M(32, 32), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VPSHUFB, {R(X2), R(X1), R(X0)}},
        {ZYDIS_MNEMONIC_VPCMPESTRI, {R(X1), R(X2), I(0x0c)}},
        {ZYDIS_MNEMONIC_VAESENC, {R(X1), R(X2), R(X3)}},
        {ZYDIS_MNEMONIC_VPCLMULQDQ, {R(X1), R(X2), R(X3), I(0x10)}},
        {ZYDIS_MNEMONIC_VLDDQU, {R(Y1), M(32, 7)}},
        // AVX2
        {ZYDIS_MNEMONIC_VPADDD, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VPMULLW, {R(Y0), R(Y1), M(32)}},
        {ZYDIS_MNEMONIC_VPSHUFB, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VPERMD, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VPERMQ, {R(Y0), R(Y1), I(0x8d)}},
        {ZYDIS_MNEMONIC_VPERM2I128, {R(Y0), R(Y1), R(Y2), I(0x30)}},
        {ZYDIS_MNEMONIC_VPSLLVD, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VPSRAVD, {R(X0), R(X1), R(X2)}},
        {ZYDIS_MNEMONIC_VPBROADCASTB, {R(Y0), R(X1)}},
        {ZYDIS_MNEMONIC_VPBROADCASTQ, {R(Y0), M(8)}},
        {ZYDIS_MNEMONIC_VPMOVZXBD, {R(Y0), R(X1)}},
        {ZYDIS_MNEMONIC_VPBLENDD, {R(Y0), R(Y1), R(Y2), I(0xa5)}},
        {ZYDIS_MNEMONIC_VPMOVMSKB, {R(ZYDIS_REGISTER_EAX), R(Y2)}},
        {ZYDIS_MNEMONIC_VPMASKMOVD, {R(Y2), R(Y1), M(32)}},
        {ZYDIS_MNEMONIC_VPMASKMOVQ, {M(32), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VINSERTI128, {R(Y0), R(Y1), M(16), I(0)}},
        {ZYDIS_MNEMONIC_VMPSADBW, {R(Y0), R(Y1), R(Y2), I(0x2d)}},
        {ZYDIS_MNEMONIC_VPSADBW, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VPACKUSWB, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VPALIGNR, {R(Y0), R(Y1), R(Y2), I(3)}},
        {ZYDIS_MNEMONIC_VMOVNTDQA, {R(Y0), M(32)}},
        // FMA
        {ZYDIS_MNEMONIC_VFMADD231PS, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VFMADD132SD, {R(X0), R(X1), M(8)}},
        {ZYDIS_MNEMONIC_VFNMSUB213PD, {R(Y0), R(Y1), R(Y2)}},
        {ZYDIS_MNEMONIC_VFMADDSUB231PS, {R(Y0), R(Y1), R(Y2)}},
        // F16C
        {ZYDIS_MNEMONIC_VCVTPH2PS, {R(Y0), R(X1)}},
        {ZYDIS_MNEMONIC_VCVTPS2PH, {R(X0), R(Y1), I(4)}},
        {ZYDIS_MNEMONIC_VCVTPS2PH, {M(16), R(Y1), I(0)}},
    };
    uint64_t seed = 300;
    for (const OneInsn &c : cases) {
        std::vector<uint8_t> code = Insn(c.m, c.ops);
        EXPECT_EQ(Random(code, 40, seed++), 0) << ZydisMnemonicGetString(c.m);
    }
}

TEST_P(VecAvxTest, TestFlags)
{
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_VTESTPS, {R(Y0), R(Y1)}), 60, 1), 0);
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_VPTEST, {R(Y0), M(32)}), 60, 2), 0);
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_VUCOMISS, {R(X0), R(X1)}), 60, 3), 0);
}

TEST_P(VecAvxTest, Vldmxcsr)
{
    uint32_t v = 0x3f80 | 0x20;
    memcpy(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR), &v, 4);
    HarnessCode code = {};
    Append(&code, ZYDIS_MNEMONIC_VLDMXCSR, {M(4)});
    Append(&code, ZYDIS_MNEMONIC_VADDPS, {R(Y0), R(Y1), R(Y2)});
    Append(&code, ZYDIS_MNEMONIC_VSTMXCSR, {M(4, 8)});
    ASSERT_FALSE(code.failed);
    EXPECT_TRUE(Check(std::vector<uint8_t>(code.bytes, code.bytes + code.len)));
}

// Masked loads and stores fault only on enabled elements: run one at the end of the mapped memory.
TEST_P(VecAvxTest, MaskedAccessAtPageEnd)
{
    in_->regs[HR_RBX] = HARNESS_MEM_ADDR + HARNESS_MEM_SIZE - 16;
    for (int k = 0; k < 8; k++) in_->ymm[1].d[k] = k < 4 ? 0x80000000u : 0;
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_VMASKMOVPS, {R(Y0), R(Y1), M(32)})));
    EXPECT_EQ(emulated_->status, HARNESS_DONE);
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_VPMASKMOVD, {M(32), R(Y1), R(Y2)})));
    EXPECT_EQ(emulated_->status, HARNESS_DONE);
    in_->ymm[1].d[6] = 0x80000000u;
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_VMASKMOVPS, {R(Y0), R(Y1), M(32)})));
    EXPECT_EQ(emulated_->signo, SIGSEGV);
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_VPMASKMOVD, {M(32), R(Y1), R(Y2)})));
    EXPECT_EQ(emulated_->signo, SIGSEGV);
}

// An unmasked SIMD exception leaves a memory destination alone.
TEST_P(VecAvxTest, UnmaskedExceptionKeepsMemory)
{
    in_->fx.mxcsr = 0x1f80 & ~0x80;   // invalid unmasked
    for (int k = 0; k < 8; k++) in_->ymm[1].d[k] = k == 5 ? 0x7f800001u : 0x3f800000u;   // one SNaN
    memset(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR), 0x55, 16);
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_VCVTPS2PH, {M(16), R(Y1), I(0)})));
    EXPECT_EQ(native_->signo, SIGFPE);
    EXPECT_EQ(emulated_->signo, SIGFPE);
}

TEST_P(VecAvxTest, Vzero)
{
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_VZEROUPPER, {}), 5, 1), 0);
    EXPECT_EQ(Random(Insn(ZYDIS_MNEMONIC_VZEROALL, {}), 5, 2), 0);
}

// Gathers: indexes kept small so every element lands in the data buffer; random masks.
static void GatherSetup(HarnessState *s, HarnessRng *r, void *)
{
    s->regs[HR_RBX] = kDataBase;
    // ymm2 holds the indexes, within +-64 elements whether read as dwords or as qwords
    for (int k = 0; k < 4; k++) {
        s->ymm[2].q[k] = (uint64_t)(int64_t)((int)(harness_rng_next(r) % 128) - 64);
    }
}

TEST_P(VecAvxTest, Gathers)
{
    struct G {
        ZydisMnemonic m;
        ZydisRegister dst, index, mask;
        unsigned scale;
    };
    const G cases[] = {
        {ZYDIS_MNEMONIC_VGATHERDPS, Y0, Y2, Y1, 4}, {ZYDIS_MNEMONIC_VGATHERDPS, X0, X2, X1, 1},
        {ZYDIS_MNEMONIC_VGATHERDPD, Y0, X2, Y1, 8}, {ZYDIS_MNEMONIC_VGATHERQPS, X0, Y2, X1, 4},
        {ZYDIS_MNEMONIC_VGATHERQPD, Y0, Y2, Y1, 8}, {ZYDIS_MNEMONIC_VPGATHERDD, Y0, Y2, Y1, 4},
        {ZYDIS_MNEMONIC_VPGATHERDQ, X0, X2, X1, 2}, {ZYDIS_MNEMONIC_VPGATHERQD, X0, X2, X1, 4},
        {ZYDIS_MNEMONIC_VPGATHERQQ, Y0, Y2, Y1, 8},
    };
    uint64_t seed = 900;
    for (const G &g : cases) {
        // The encoder wants the element size as the memory operand's size.
        bool data64 = g.m == ZYDIS_MNEMONIC_VGATHERDPD || g.m == ZYDIS_MNEMONIC_VGATHERQPD ||
                      g.m == ZYDIS_MNEMONIC_VPGATHERDQ || g.m == ZYDIS_MNEMONIC_VPGATHERQQ;
        unsigned size = data64 ? 8 : 4;
        ZydisEncoderOperand mem = harness_mem(size, ZYDIS_REGISTER_RBX, g.index, g.scale, 8);
        std::vector<uint8_t> code = Insn(g.m, {R(g.dst), mem, R(g.mask)});
        EXPECT_EQ(Random(code, 40, seed++, GatherSetup), 0) << ZydisMnemonicGetString(g.m);
    }
}

// AVX-512 (EVEX) is not advertised: #UD even though this host may have it.
TEST_P(VecAvxTest, EvexIsUndefined)
{
    const std::vector<uint8_t> bytes = {0x62, 0xf1, 0x74, 0x48, 0x58, 0xc2};  // vaddps zmm0, zmm1, zmm2
    ASSERT_EQ(harness_run_emulated(bytes.data(), bytes.size(), in_.get(), emulated_.get(), backend_), 0);
    EXPECT_EQ(emulated_->status, HARNESS_SIGNAL);
    EXPECT_EQ(emulated_->signo, SIGILL);
    // VAES (VEX.256 VAESENC) is not advertised either, though its 128-bit form is AES.
    const std::vector<uint8_t> vaes = {0xc4, 0xe2, 0x75, 0xdc, 0xc2};   // vaesenc ymm0, ymm1, ymm2
    ASSERT_EQ(harness_run_emulated(vaes.data(), vaes.size(), in_.get(), emulated_.get(), backend_), 0);
    EXPECT_EQ(emulated_->signo, SIGILL);
}

VEC_INSTANTIATE(VecAvxTest);

}  // namespace vectest
