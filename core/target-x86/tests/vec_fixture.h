// The fixture every vec_*_test.cc shares: one instruction, or a few, assembled with Zydis's encoder,
// run natively and under the CPU model (each backend), compared.
#ifndef EMBER_VEC_FIXTURE_H
#define EMBER_VEC_FIXTURE_H

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

namespace vectest {
inline ZydisEncoderOperand R(ZydisRegister r) { return harness_reg(r); }
inline ZydisEncoderOperand I(int64_t v) { return harness_imm(v); }
// [rbx + disp]: the fixture points RBX into the data buffer.
inline ZydisEncoderOperand M(unsigned size, int64_t disp = 0)
{
    return harness_mem(size, ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_NONE, 0, disp);
}

// Where RBX points: 64-byte aligned, with room on both sides.
constexpr uint64_t kDataBase = HARNESS_DATA_ADDR + 0x400;

class VecTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override
    {
        backend_ = static_cast<const TCGBackend *>(harness_backend_named(GetParam().c_str()));
        if (!backend_) GTEST_SKIP() << "no backend called " << GetParam();
        harness_state_init(in_.get());
        in_->regs[HR_RBX] = kDataBase;
    }

    static void PointRbx(HarnessState *s, HarnessRng *, void *) { s->regs[HR_RBX] = kDataBase; }

    // The code of one instruction; fails the test if it does not encode.
    static std::vector<uint8_t> Insn(ZydisMnemonic m, std::vector<ZydisEncoderOperand> ops)
    {
        HarnessCode code = {};
        Append(&code, m, ops);
        EXPECT_FALSE(code.failed) << ZydisMnemonicGetString(m);
        return std::vector<uint8_t>(code.bytes, code.bytes + code.len);
    }

    static void Append(HarnessCode *code, ZydisMnemonic m, const std::vector<ZydisEncoderOperand> &ops)
    {
        switch (ops.size()) {
        case 0: harness_emit(code, m, 0); break;
        case 1: harness_emit(code, m, 1, ops[0]); break;
        case 2: harness_emit(code, m, 2, ops[0], ops[1]); break;
        case 3: harness_emit(code, m, 3, ops[0], ops[1], ops[2]); break;
        default: harness_emit(code, m, 4, ops[0], ops[1], ops[2], ops[3]); break;
        }
    }

    HarnessCase Case(const std::vector<uint8_t> &code, uint32_t flags_mask = 0)
    {
        HarnessCase c = {};
        c.code = code.data();
        c.len = code.size();
        c.flags_mask = flags_mask;
        c.backend = backend_;
        return c;
    }

    // Random inputs (RBX kept pointing into the data buffer, or `setup`); the number of mismatches.
    int Random(const std::vector<uint8_t> &code, int iterations, uint64_t seed,
               void (*setup)(HarnessState *, HarnessRng *, void *) = PointRbx, void *arg = nullptr)
    {
        HarnessCase c = Case(code);
        return harness_compare_random_ex(&c, iterations, seed, setup, arg);
    }

    // One run from in_; true when native and emulated agree.
    bool Check(const std::vector<uint8_t> &code)
    {
        HarnessCase c = Case(code);
        return harness_check_results(&c, in_.get(), GetParam().c_str(), native_.get(), emulated_.get());
    }

    template <typename T>
    static std::unique_ptr<T, decltype(&free)> Alloc()
    {
        T *p = static_cast<T *>(aligned_alloc(64, sizeof(T)));
        memset(p, 0, sizeof(T));
        return {p, &free};
    }

    const TCGBackend *backend_ = nullptr;
    std::unique_ptr<HarnessState, decltype(&free)> in_ = Alloc<HarnessState>();
    std::unique_ptr<HarnessResult, decltype(&free)> native_ = Alloc<HarnessResult>();
    std::unique_ptr<HarnessResult, decltype(&free)> emulated_ = Alloc<HarnessResult>();
};

#define VEC_INSTANTIATE(suite)                                                                   \
    INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::Values("interp", "jit", "jit_cold"),                \
                             [](const ::testing::TestParamInfo<std::string> &info) { return info.param; })

}  // namespace vectest

#endif
