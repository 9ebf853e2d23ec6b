// x87 and MMX instructions, host-executed with the guest's FPU image: native vs emulated.
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
#define _Static_assert static_assert
#include "core/target-x86/cpuid.h"
}

#include "core/target-x86/tests/vec_fixture.h"

namespace vectest {

constexpr ZydisRegister ST0 = ZYDIS_REGISTER_ST0, ST1 = ZYDIS_REGISTER_ST1, ST2 = ZYDIS_REGISTER_ST2;
constexpr ZydisRegister MM0 = ZYDIS_REGISTER_MM0, MM1 = ZYDIS_REGISTER_MM1, MM5 = ZYDIS_REGISTER_MM5;

class VecX87Test : public VecTest {
  protected:
    using Seq = std::vector<std::pair<ZydisMnemonic, std::vector<ZydisEncoderOperand>>>;

    static std::vector<uint8_t> Code(const Seq &seq)
    {
        HarnessCode code = {};
        for (const auto &i : seq) {
            Append(&code, i.first, i.second);
            EXPECT_FALSE(code.failed) << ZydisMnemonicGetString(i.first);
        }
        return std::vector<uint8_t>(code.bytes, code.bytes + code.len);
    }

    // Random data, plus a few ordinary doubles at [rbx], [rbx+8] half of the time (random bits are
    // mostly huge or NaN), and the control word from arg if given.
    static void Setup(HarnessState *s, HarnessRng *r, void *arg)
    {
        s->regs[HR_RBX] = kDataBase;
        uint8_t *d = harness_data(s) + (kDataBase - HARNESS_DATA_ADDR);
        if (harness_rng_next(r) & 1) {
            for (int k = 0; k < 4; k++) {
                double v = (double)(int64_t)(harness_rng_next(r) % 2000001) / 1000.0 - 1000.0;
                memcpy(d + 8 * k, &v, 8);
            }
        }
        if (arg) s->fx.fcw = *static_cast<uint16_t *>(arg);
    }

    int RandomSeq(const Seq &seq, int iterations, uint64_t seed, uint16_t *fcw = nullptr)
    {
        return Random(Code(seq), iterations, seed, Setup, fcw);
    }
};

TEST_P(VecX87Test, Arithmetic)
{
    const ZydisMnemonic binops[] = {ZYDIS_MNEMONIC_FADDP, ZYDIS_MNEMONIC_FSUBP, ZYDIS_MNEMONIC_FMULP,
                                    ZYDIS_MNEMONIC_FDIVP, ZYDIS_MNEMONIC_FDIVRP};
    uint64_t seed = 1;
    for (ZydisMnemonic m : binops) {
        Seq seq = {{ZYDIS_MNEMONIC_FLD, {M(8)}},
                   {ZYDIS_MNEMONIC_FLD, {M(8, 8)}},
                   {m, {R(ST1), R(ST0)}},
                   {ZYDIS_MNEMONIC_FSTP, {M(10, 32)}}};
        EXPECT_EQ(RandomSeq(seq, 30, seed++), 0) << ZydisMnemonicGetString(m);
    }
    // Memory operands of every size, integer loads and stores.
    EXPECT_EQ(RandomSeq({{ZYDIS_MNEMONIC_FLD, {M(4)}}, {ZYDIS_MNEMONIC_FADD, {M(8, 8)}},
                         {ZYDIS_MNEMONIC_FMUL, {M(4, 16)}}, {ZYDIS_MNEMONIC_FSTP, {M(8, 32)}}},
                        30, 10),
              0);
    EXPECT_EQ(RandomSeq({{ZYDIS_MNEMONIC_FILD, {M(8)}}, {ZYDIS_MNEMONIC_FIDIV, {M(4, 8)}},
                         {ZYDIS_MNEMONIC_FIST, {M(4, 32)}}, {ZYDIS_MNEMONIC_FISTP, {M(8, 40)}}},
                        30, 11),
              0);
    EXPECT_EQ(RandomSeq({{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FISTTP, {M(2, 32)}}}, 30, 12), 0);
    EXPECT_EQ(RandomSeq({{ZYDIS_MNEMONIC_FLD, {M(10)}}, {ZYDIS_MNEMONIC_FBSTP, {M(10, 32)}}}, 30, 13), 0);
    EXPECT_EQ(RandomSeq({{ZYDIS_MNEMONIC_FBLD, {M(10)}}, {ZYDIS_MNEMONIC_FSTP, {M(10, 32)}}}, 30, 14), 0);
}

// Transcendentals and the rest: the host's own microcode gives the same 80-bit results.
TEST_P(VecX87Test, Unary)
{
    const ZydisMnemonic unops[] = {ZYDIS_MNEMONIC_FSQRT, ZYDIS_MNEMONIC_FSIN,    ZYDIS_MNEMONIC_FCOS,
                                   ZYDIS_MNEMONIC_FSINCOS, ZYDIS_MNEMONIC_FPTAN, ZYDIS_MNEMONIC_F2XM1,
                                   ZYDIS_MNEMONIC_FRNDINT, ZYDIS_MNEMONIC_FXTRACT, ZYDIS_MNEMONIC_FABS,
                                   ZYDIS_MNEMONIC_FCHS,  ZYDIS_MNEMONIC_FXAM,    ZYDIS_MNEMONIC_FTST};
    uint64_t seed = 20;
    for (ZydisMnemonic m : unops) {
        Seq seq = {{ZYDIS_MNEMONIC_FLD, {M(8)}}, {m, {}}, {ZYDIS_MNEMONIC_FNSTSW, {R(ZYDIS_REGISTER_AX)}}};
        EXPECT_EQ(RandomSeq(seq, 30, seed++), 0) << ZydisMnemonicGetString(m);
    }
    const ZydisMnemonic two[] = {ZYDIS_MNEMONIC_FPATAN, ZYDIS_MNEMONIC_FYL2X, ZYDIS_MNEMONIC_FYL2XP1,
                                 ZYDIS_MNEMONIC_FSCALE, ZYDIS_MNEMONIC_FPREM, ZYDIS_MNEMONIC_FPREM1};
    for (ZydisMnemonic m : two) {
        Seq seq = {{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FLD, {M(8, 8)}}, {m, {}},
                   {ZYDIS_MNEMONIC_FNSTSW, {R(ZYDIS_REGISTER_AX)}}};
        EXPECT_EQ(RandomSeq(seq, 30, seed++), 0) << ZydisMnemonicGetString(m);
    }
    EXPECT_EQ(RandomSeq({{ZYDIS_MNEMONIC_FLDPI, {}}, {ZYDIS_MNEMONIC_FLDL2E, {}}, {ZYDIS_MNEMONIC_FLDLN2, {}},
                         {ZYDIS_MNEMONIC_FXCH, {R(ST2)}}, {ZYDIS_MNEMONIC_FINCSTP, {}},
                         {ZYDIS_MNEMONIC_FFREE, {R(ST1)}}},
                        5, 40),
              0);
}

// FCOMI and friends write ZF/PF/CF; FCMOVcc reads them.
TEST_P(VecX87Test, FlagsInAndOut)
{
    const ZydisMnemonic cmps[] = {ZYDIS_MNEMONIC_FCOMI, ZYDIS_MNEMONIC_FUCOMIP, ZYDIS_MNEMONIC_FCOMIP};
    uint64_t seed = 50;
    for (ZydisMnemonic m : cmps) {
        Seq seq = {{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FLD, {M(8, 8)}}, {m, {R(ST0), R(ST1)}},
                   {ZYDIS_MNEMONIC_SETB, {R(ZYDIS_REGISTER_AL)}}};
        EXPECT_EQ(RandomSeq(seq, 30, seed++), 0) << ZydisMnemonicGetString(m);
    }
    const ZydisMnemonic cmovs[] = {ZYDIS_MNEMONIC_FCMOVB, ZYDIS_MNEMONIC_FCMOVNE, ZYDIS_MNEMONIC_FCMOVBE,
                                   ZYDIS_MNEMONIC_FCMOVNU};
    for (ZydisMnemonic m : cmovs) {
        Seq seq = {{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FLD, {M(8, 8)}}, {m, {R(ST0), R(ST1)}},
                   {ZYDIS_MNEMONIC_FSTP, {M(8, 32)}}};
        EXPECT_EQ(RandomSeq(seq, 30, seed++), 0) << ZydisMnemonicGetString(m);
    }
    // FCOM sets C0..C3 in FSW.
    EXPECT_EQ(RandomSeq({{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FCOMP, {M(8, 8)}},
                         {ZYDIS_MNEMONIC_FNSTSW, {R(ZYDIS_REGISTER_AX)}}},
                        30, 60),
              0);
}

// Precision and rounding control come from the guest's FCW.
TEST_P(VecX87Test, PrecisionAndRoundingControl)
{
    uint16_t fcws[] = {0x007f, 0x027f, 0x037f, 0x047f, 0x087f, 0x0c7f, 0x0e7f};
    uint64_t seed = 70;
    for (uint16_t &fcw : fcws) {
        Seq seq = {{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FDIV, {M(8, 8)}}, {ZYDIS_MNEMONIC_FSQRT, {}},
                   {ZYDIS_MNEMONIC_FST, {M(8, 32)}}, {ZYDIS_MNEMONIC_FISTP, {M(8, 48)}}};
        EXPECT_EQ(RandomSeq(seq, 20, seed++, &fcw), 0) << std::hex << fcw;
    }
    // FLDCW and FNSTCW themselves.
    uint16_t cw = 0x0c7f;
    memcpy(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR) + 16, &cw, 2);
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLDCW, {M(2, 16)}}, {ZYDIS_MNEMONIC_FLDPI, {}},
                            {ZYDIS_MNEMONIC_FNSTCW, {M(2, 24)}}, {ZYDIS_MNEMONIC_FSTP, {M(4, 32)}}})));
}

// FNSTENV/FLDENV, FNSAVE/FRSTOR images (their FIP/FDP fields are the host's business; we compare the
// rest of the state they leave and the control/status/tag words they store). The FNSAVE image's pointer
// fields are cleared before anything compares it: natively, on an AMD host, they are whatever it last
// saved, which is zero when the kernel switched tasks between FLD1 and FNSAVE (it saves them only with an
// exception pending) and FLD1's address otherwise. (Intel saves them always; see hostexec-run.c for
// what it records.)
TEST_P(VecX87Test, EnvironmentImages)
{
    in_->fx.fcw = 0x027f;
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLDPI, {}}, {ZYDIS_MNEMONIC_FLD1, {}},
                            {ZYDIS_MNEMONIC_FNSAVE, {M(108, 64)}}, {ZYDIS_MNEMONIC_MOV, {M(4, 64 + 12), I(0)}},
                            {ZYDIS_MNEMONIC_MOV, {M(4, 64 + 16), I(0)}}, {ZYDIS_MNEMONIC_MOV, {M(4, 64 + 20), I(0)}},
                            {ZYDIS_MNEMONIC_MOV, {M(4, 64 + 24), I(0)}}, {ZYDIS_MNEMONIC_FLDZ, {}},
                            {ZYDIS_MNEMONIC_FRSTOR, {M(108, 64)}}, {ZYDIS_MNEMONIC_FADDP, {R(ST1), R(ST0)}}})));
    const uint8_t *img = emulated_->state.mem + (kDataBase - HARNESS_DATA_ADDR) + 64;
    const uint8_t *nimg = native_->state.mem + (kDataBase - HARNESS_DATA_ADDR) + 64;
    EXPECT_EQ(0, memcmp(img, nimg, 12));            // FCW, FSW, FTW
    EXPECT_EQ(0, memcmp(img + 28, nimg + 28, 80));  // the registers
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLDLG2, {}}, {ZYDIS_MNEMONIC_FNSTENV, {M(28, 64)}},
                            {ZYDIS_MNEMONIC_FLDENV, {M(28, 64)}}, {ZYDIS_MNEMONIC_FNINIT, {}},
                            {ZYDIS_MNEMONIC_FNCLEX, {}}})));
}

// FNSTENV records the last x87 instruction's pc, opcode and data address (FIP, FOP, FDP).
TEST_P(VecX87Test, InstructionPointers)
{
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FNSTENV, {M(28, 64)}}})));
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FLDPI, {}},
                            {ZYDIS_MNEMONIC_FNSTCW, {M(2, 40)}}, {ZYDIS_MNEMONIC_FNSTENV, {M(28, 64)}}})));
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FILD, {M(4, 8)}}, {ZYDIS_MNEMONIC_FNSAVE, {M(108, 64)}},
                            {ZYDIS_MNEMONIC_FNSTENV, {M(28, 256)}}})));
}

// An unmasked x87 exception is pending after the faulting instruction and delivered (#MF, SIGFPE) by
// the next waiting one.
TEST_P(VecX87Test, UnmaskedExceptionAtNextWait)
{
    in_->fx.fcw = 0x037b;   // zero-divide unmasked
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLD1, {}}, {ZYDIS_MNEMONIC_FLDZ, {}},
                            {ZYDIS_MNEMONIC_FDIVP, {R(ST1), R(ST0)}}, {ZYDIS_MNEMONIC_FNSTSW, {R(ZYDIS_REGISTER_AX)}},
                            {ZYDIS_MNEMONIC_FWAIT, {}}})));
    EXPECT_EQ(native_->signo, SIGFPE);
    EXPECT_EQ(emulated_->signo, SIGFPE);
    EXPECT_EQ(emulated_->rip, native_->rip);
}

// With an exception pending, the non-waiting stores see the guest's real FCW and ES; FNCLEX clears it.
TEST_P(VecX87Test, PendingExceptionImages)
{
    in_->fx.fcw = 0x037b;
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLD1, {}}, {ZYDIS_MNEMONIC_FLDZ, {}},
                            {ZYDIS_MNEMONIC_FDIVP, {R(ST1), R(ST0)}}, {ZYDIS_MNEMONIC_FNSTCW, {M(2, 16)}},
                            {ZYDIS_MNEMONIC_FNSTSW, {M(2, 18)}}, {ZYDIS_MNEMONIC_FNSTENV, {M(28, 64)}},
                            {ZYDIS_MNEMONIC_FNCLEX, {}}, {ZYDIS_MNEMONIC_FLDCW, {M(2, 16)}},
                            {ZYDIS_MNEMONIC_FWAIT, {}}})));
    EXPECT_EQ(emulated_->status, HARNESS_DONE);
    // Masked again by FNSTENV: the division result is there (infinity), no fault.
    in_->fx.fcw = 0x037e;   // invalid unmasked: 0/0 is pending, then delivered by FLD
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLDZ, {}}, {ZYDIS_MNEMONIC_FLDZ, {}},
                            {ZYDIS_MNEMONIC_FDIVP, {R(ST1), R(ST0)}}, {ZYDIS_MNEMONIC_FLD1, {}}})));
    EXPECT_EQ(native_->signo, SIGFPE);
    EXPECT_EQ(emulated_->signo, SIGFPE);
}

// Intel records FOP (and, with FDP_EXCPTN_ONLY, FDP) only for an instruction that raises an unmasked
// exception: they survive FNCLEX and later masked instructions; one without a memory operand keeps FDP.
// AMD records them for every instruction, but saves them across a task switch only with an exception
// pending, so the native side would not be reliable there.
TEST_P(VecX87Test, PointersAfterUnmaskedException)
{
    if (!x86_vendor_intel()) {
        GTEST_SKIP() << "Intel's pointer rules";
    }
    in_->fx.fcw = 0x037b;   // zero-divide unmasked
    const double one_half = 1.5, zero = 0.0;
    memcpy(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR), &one_half, 8);
    memcpy(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR) + 8, &zero, 8);
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLD1, {}}, {ZYDIS_MNEMONIC_FDIV, {M(8, 8)}},
                            {ZYDIS_MNEMONIC_FNCLEX, {}}, {ZYDIS_MNEMONIC_FLD, {M(8)}},
                            {ZYDIS_MNEMONIC_FNSTENV, {M(28, 64)}}, {ZYDIS_MNEMONIC_FLDZ, {}},
                            {ZYDIS_MNEMONIC_FDIVP, {R(ST1), R(ST0)}}, {ZYDIS_MNEMONIC_FNSTENV, {M(28, 96)}},
                            {ZYDIS_MNEMONIC_FNCLEX, {}}})));
    EXPECT_EQ(emulated_->status, HARNESS_DONE);
    // An unmasked precision exception alone: the result is stored, and the pointers name it.
    in_->fx.fcw = 0x035f;
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLDPI, {}}, {ZYDIS_MNEMONIC_FMUL, {M(8)}},
                            {ZYDIS_MNEMONIC_FNSAVE, {M(108, 64)}}, {ZYDIS_MNEMONIC_FNSTENV, {M(28, 192)}}})));
}

// An unmasked overflow on a store: memory keeps its old value; FCOMI with an unmasked invalid operand
// keeps the old flags. Both then fault at the next waiting instruction.
TEST_P(VecX87Test, UnmaskedExceptionSuppressesTheResult)
{
    in_->fx.fcw = 0x0377;   // overflow unmasked
    const double big = 1e300;
    memcpy(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR), &big, 8);
    memset(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR) + 16, 0x55, 8);
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLD, {M(8)}}, {ZYDIS_MNEMONIC_FSTP, {M(4, 16)}},
                            {ZYDIS_MNEMONIC_FNSTSW, {R(ZYDIS_REGISTER_AX)}}, {ZYDIS_MNEMONIC_FWAIT, {}}})));
    EXPECT_EQ(emulated_->signo, SIGFPE);
    in_->fx.fcw = 0x037e;   // invalid unmasked
    in_->rflags = HARNESS_ZF | HARNESS_SF;
    const double nan = __builtin_nan("");
    memcpy(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR) + 8, &nan, 8);
    EXPECT_TRUE(Check(Code({{ZYDIS_MNEMONIC_FLD, {M(8, 8)}}, {ZYDIS_MNEMONIC_FLD1, {}},
                            {ZYDIS_MNEMONIC_FCOMI, {R(ST0), R(ST1)}}, {ZYDIS_MNEMONIC_SETZ, {R(ZYDIS_REGISTER_CL)}},
                            {ZYDIS_MNEMONIC_FWAIT, {}}})));
}

// MMX registers alias the x87 ones.
TEST_P(VecX87Test, Mmx)
{
    using Op = std::pair<ZydisMnemonic, std::vector<ZydisEncoderOperand>>;
    const Op ops[] = {
        {ZYDIS_MNEMONIC_PADDUSB, {R(MM0), R(MM1)}},   {ZYDIS_MNEMONIC_PMADDWD, {R(MM0), M(8, 16)}},
        {ZYDIS_MNEMONIC_PSRLQ, {R(MM0), I(7)}},       {ZYDIS_MNEMONIC_PSHUFW, {R(MM0), R(MM1), I(0x1b)}},
        {ZYDIS_MNEMONIC_PSHUFB, {R(MM0), R(MM1)}},    {ZYDIS_MNEMONIC_PMOVMSKB, {R(ZYDIS_REGISTER_EAX), R(MM1)}},
        {ZYDIS_MNEMONIC_CVTPI2PS, {R(ZYDIS_REGISTER_XMM3), R(MM1)}},
        {ZYDIS_MNEMONIC_CVTTPS2PI, {R(MM0), R(ZYDIS_REGISTER_XMM3)}},
        {ZYDIS_MNEMONIC_MOVQ2DQ, {R(ZYDIS_REGISTER_XMM3), R(MM1)}},
        {ZYDIS_MNEMONIC_MOVD, {R(ZYDIS_REGISTER_ECX), R(MM1)}},
    };
    uint64_t seed = 80;
    for (const Op &op : ops) {
        Seq seq = {{ZYDIS_MNEMONIC_MOVQ, {R(MM0), M(8)}},
                   {ZYDIS_MNEMONIC_MOVQ, {R(MM1), M(8, 8)}},
                   {ZYDIS_MNEMONIC_MOVQ, {R(MM5), R(MM1)}},
                   op,
                   {ZYDIS_MNEMONIC_MOVQ, {M(8, 32), R(MM0)}}};
        EXPECT_EQ(RandomSeq(seq, 20, seed++), 0) << ZydisMnemonicGetString(op.first);
    }
    EXPECT_EQ(RandomSeq({{ZYDIS_MNEMONIC_MOVQ, {R(MM1), M(8)}}, {ZYDIS_MNEMONIC_EMMS, {}}}, 5, 99), 0);
}

VEC_INSTANTIATE(VecX87Test);

}  // namespace vectest
