// CPUID, XGETBV, the CPU models, and the FXSAVE/XSAVE family's memory images: native vs emulated.
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

class VecStateTest : public VecTest {
  protected:
    // Run natively and emulated without comparing (the caller compares what it cares about).
    void RunBoth(const std::vector<uint8_t> &code)
    {
        ASSERT_EQ(harness_run_native(code.data(), code.size(), in_.get(), native_.get()), 0);
        ASSERT_EQ(harness_run_emulated(code.data(), code.size(), in_.get(), emulated_.get(), backend_), 0);
        ASSERT_EQ(native_->status, HARNESS_DONE) << native_->error;
        ASSERT_EQ(emulated_->status, HARNESS_DONE) << emulated_->error;
    }

    const uint8_t *NativeData(size_t off) const { return native_->state.mem + (kDataBase - HARNESS_DATA_ADDR) + off; }
    const uint8_t *EmuData(size_t off) const { return emulated_->state.mem + (kDataBase - HARNESS_DATA_ADDR) + off; }

    // A state in which every component is in use: x87 registers loaded, random XMM/YMM.
    void BusyState(uint64_t seed)
    {
        HarnessRng r = {seed};
        harness_state_random(in_.get(), &r);
        in_->regs[HR_RBX] = kDataBase;
        in_->fx.fcw = 0x027f;
        in_->fx.ftw = 0x03;   // ST0 and ST1 valid (abridged tags of physical registers 0 and 1)
        in_->fx.fsw = 0;      // TOP = 0
        for (int i = 0; i < 2; i++) {
            uint64_t mant = 0x8000000000000000ULL | harness_rng_next(&r);
            uint16_t exp = 0x3fff + (uint16_t)(i * 3);
            memcpy(in_->fx.st[i], &mant, 8);
            memcpy(in_->fx.st[i] + 8, &exp, 2);
        }
        in_->fx.mxcsr = 0x1f80 | 0x6000 | 0x1;
    }
};

TEST_P(VecStateTest, CpuidVendorAndFeaturesAreTheHosts)
{
    std::vector<uint8_t> cpuid = {0x0f, 0xa2};
    in_->regs[HR_RAX] = 0;
    RunBoth(cpuid);
    EXPECT_EQ(emulated_->state.regs[HR_RBX], native_->state.regs[HR_RBX]);
    EXPECT_EQ(emulated_->state.regs[HR_RCX], native_->state.regs[HR_RCX]);
    EXPECT_EQ(emulated_->state.regs[HR_RDX], native_->state.regs[HR_RDX]);
    EXPECT_EQ(emulated_->state.regs[HR_RAX], 0xdu);
    // Leaf 1 and leaf 7: a subset of the host's bits, and the baseline is there.
    for (uint32_t leaf : {1u, 7u, 0x80000001u}) {
        in_->regs[HR_RAX] = leaf;
        in_->regs[HR_RCX] = 0;
        RunBoth(cpuid);
        for (int reg : {HR_RBX, HR_RCX, HR_RDX}) {
            uint64_t e = emulated_->state.regs[reg], n = native_->state.regs[reg];
            EXPECT_EQ(e & ~n, 0u) << "leaf " << std::hex << leaf << " reg " << reg;
        }
        if (leaf == 1) {
            EXPECT_NE(emulated_->state.regs[HR_RDX] & (1u << 26), 0u);   // SSE2
            EXPECT_NE(emulated_->state.regs[HR_RDX] & (1u << 24), 0u);   // FXSR
            EXPECT_EQ(emulated_->state.regs[HR_RAX], native_->state.regs[HR_RAX]);   // family/model/stepping
        }
    }
    // The brand string names us.
    char brand[49] = {0};
    for (uint32_t i = 0; i < 3; i++) {
        in_->regs[HR_RAX] = 0x80000002u + i;
        RunBoth(cpuid);
        uint32_t v[4] = {(uint32_t)emulated_->state.regs[HR_RAX], (uint32_t)emulated_->state.regs[HR_RBX],
                         (uint32_t)emulated_->state.regs[HR_RCX], (uint32_t)emulated_->state.regs[HR_RDX]};
        memcpy(brand + 16 * i, v, 16);
    }
    EXPECT_EQ(std::string(brand).rfind("Ember x86-64 (host: ", 0), 0u) << brand;
    // A leaf past the maximum reads as zero.
    in_->regs[HR_RAX] = 0x40000000u;
    RunBoth(cpuid);
    EXPECT_EQ(emulated_->state.regs[HR_RAX] | emulated_->state.regs[HR_RBX], 0u);
}

TEST_P(VecStateTest, XgetbvMatchesCpuid)
{
    in_->regs[HR_RCX] = 0;
    RunBoth({0x0f, 0x01, 0xd0});   // xgetbv
    const X86CPUModel *max = x86_cpu_model_find(nullptr);
    EXPECT_EQ(emulated_->state.regs[HR_RAX], max->xcr0_mask);
    EXPECT_EQ(emulated_->state.regs[HR_RDX], 0u);
    EXPECT_EQ(native_->state.regs[HR_RAX] & max->xcr0_mask, max->xcr0_mask);
    // XSAVE area size (leaf 0xd) agrees with XCR0.
    in_->regs[HR_RAX] = 0xd;
    in_->regs[HR_RCX] = 0;
    RunBoth({0x0f, 0xa2});
    EXPECT_EQ(emulated_->state.regs[HR_RBX], x86_xsave_size(max->xcr0_mask));
    // XGETBV with ECX=1 is #GP here (XGETBV1 is not advertised).
    in_->regs[HR_RCX] = 1;
    ASSERT_EQ(harness_run_emulated((const uint8_t *)"\x0f\x01\xd0", 3, in_.get(), emulated_.get(), backend_), 0);
    EXPECT_EQ(emulated_->signo, SIGSEGV);
}

// The models: unknown names are refused; the levels are cut down from "max".
TEST(VecCpuModelTest, Models)
{
    const X86CPUModel *max = x86_cpu_model_find("max");
    ASSERT_NE(max, nullptr);
    EXPECT_EQ(max, x86_cpu_model_find(nullptr));
    EXPECT_EQ(x86_cpu_model_find("pentium"), nullptr);
    const X86CPUModel *v1 = x86_cpu_model_find("x86-64-v1");
    const X86CPUModel *v2 = x86_cpu_model_find("x86-64-v2");
    const X86CPUModel *v3 = x86_cpu_model_find("x86-64-v3");
    ASSERT_TRUE(v1 && v2 && v3);
    EXPECT_TRUE(x86_model_has_feature(v1, X86_FEAT_SSE2));
    EXPECT_FALSE(x86_model_has_feature(v1, X86_FEAT_SSE3));
    EXPECT_FALSE(x86_model_has_feature(v1, X86_FEAT_AVX));
    EXPECT_EQ(x86_model_has_feature(v2, X86_FEAT_SSE42), x86_model_has_feature(max, X86_FEAT_SSE42));
    EXPECT_FALSE(x86_model_has_feature(v2, X86_FEAT_AVX));
    EXPECT_EQ(x86_model_has_feature(v3, X86_FEAT_AVX2), x86_model_has_feature(max, X86_FEAT_AVX2));
    EXPECT_FALSE(x86_model_has_feature(v3, X86_FEAT_AES));
    for (int f = 0; f < X86_FEAT_COUNT; f++) {
        // Nothing the host lacks is ever advertised.
        if (x86_model_has_feature(max, (X86Feature)f)) {
            EXPECT_TRUE(x86_host_has_feature((X86Feature)f)) << f;
        }
        if (x86_model_has_feature(v3, (X86Feature)f)) {
            EXPECT_TRUE(x86_model_has_feature(max, (X86Feature)f)) << f;
        }
    }
    uint32_t r[4];
    x86_cpuid(v1, 1, 0, r);
    EXPECT_EQ(r[2] & (1u << 28), 0u);   // no AVX bit
    EXPECT_EQ(r[2] & (1u << 27), 0u);   // no OSXSAVE
    x86_cpuid(v1, 0xd, 0, r);
    EXPECT_EQ(r[0], 0u);
    x86_cpuid(max, 1, 0, r);
    EXPECT_EQ((r[2] >> 28) & 1, (uint32_t)x86_model_has_feature(max, X86_FEAT_AVX));
    EXPECT_EQ((r[2] >> 27) & 1, (uint32_t)x86_model_has_feature(max, X86_FEAT_XSAVE));
}

// AMD's SSE4A is not ours: #UD, though this host may run it natively.
TEST_P(VecStateTest, UnimplementedExtensionIsUndefined)
{
    const std::vector<uint8_t> extrq = {0x66, 0x0f, 0x79, 0xc1};   // extrq xmm0, xmm1
    ASSERT_EQ(harness_run_emulated(extrq.data(), extrq.size(), in_.get(), emulated_.get(), backend_), 0);
    EXPECT_EQ(emulated_->signo, SIGILL);
}

// FXSAVE64's image: everything but FIP/FDP/FOP (which hosts record differently) as the hardware writes it.
TEST_P(VecStateTest, FxsaveImage)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        BusyState(seed);
        RunBoth(Insn(ZYDIS_MNEMONIC_FXSAVE64, {M(512)}));
        EXPECT_EQ(0, memcmp(NativeData(0), EmuData(0), 6));
        EXPECT_EQ(0, memcmp(NativeData(24), EmuData(24), 416 - 24));
        RunBoth(Insn(ZYDIS_MNEMONIC_FXSAVE, {M(512)}));
        EXPECT_EQ(0, memcmp(NativeData(24), EmuData(24), 416 - 24));
    }
    // Misaligned: #GP.
    in_->regs[HR_RBX] = kDataBase + 8;
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_FXSAVE64, {M(512)})));
    EXPECT_EQ(emulated_->signo, SIGSEGV);
}

// FXRSTOR64 of an image, then the state is compared whole.
TEST_P(VecStateTest, FxrstorRoundTrip)
{
    BusyState(9);
    HarnessCode code = {};
    Append(&code, ZYDIS_MNEMONIC_FXSAVE64, {M(512)});
    Append(&code, ZYDIS_MNEMONIC_FNINIT, {});
    Append(&code, ZYDIS_MNEMONIC_PXOR, {R(ZYDIS_REGISTER_XMM3), R(ZYDIS_REGISTER_XMM3)});
    Append(&code, ZYDIS_MNEMONIC_FXRSTOR64, {M(512)});
    ASSERT_FALSE(code.failed);
    std::vector<uint8_t> bytes(code.bytes, code.bytes + code.len);
    RunBoth(bytes);
    EXPECT_EQ(0, memcmp(native_->state.ymm, emulated_->state.ymm, sizeof(native_->state.ymm)));
    EXPECT_EQ(0, memcmp(native_->state.fx.st, emulated_->state.fx.st, sizeof(native_->state.fx.st)));
    EXPECT_EQ(native_->state.fx.fcw, emulated_->state.fx.fcw);
    EXPECT_EQ(native_->state.fx.ftw, emulated_->state.fx.ftw);
    EXPECT_EQ(native_->state.fx.mxcsr, emulated_->state.fx.mxcsr);
    // Reserved MXCSR bits in the image: #GP.
    uint32_t bad = 0x80000000u;
    memcpy(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR) + 24, &bad, 4);
    EXPECT_TRUE(Check(Insn(ZYDIS_MNEMONIC_FXRSTOR64, {M(512)})));
    EXPECT_EQ(emulated_->signo, SIGSEGV);
}

// XSAVE/XSAVEC/XSAVEOPT images for x87|SSE|AVX, and XRSTOR.
TEST_P(VecStateTest, XsaveImages)
{
    const X86CPUModel *max = x86_cpu_model_find(nullptr);
    if (!x86_model_has_feature(max, X86_FEAT_XSAVE)) GTEST_SKIP() << "no XSAVE";
    struct F {
        ZydisMnemonic m;
        X86Feature feat;
    };
    const F forms[] = {{ZYDIS_MNEMONIC_XSAVE64, X86_FEAT_XSAVE},
                       {ZYDIS_MNEMONIC_XSAVEOPT64, X86_FEAT_XSAVEOPT},
                       {ZYDIS_MNEMONIC_XSAVEC64, X86_FEAT_XSAVEC}};
    for (const F &f : forms) {
        if (!x86_model_has_feature(max, f.feat)) continue;
        for (uint64_t rfbm : {7u, 3u, 5u, 1u}) {
            BusyState(rfbm * 11);
            in_->regs[HR_RAX] = rfbm & max->xcr0_mask;
            in_->regs[HR_RDX] = 0;
            RunBoth(Insn(f.m, {M(x86_xsave_size(max->xcr0_mask))}));
            uint32_t size = x86_xsave_size(max->xcr0_mask);
            EXPECT_EQ(0, memcmp(NativeData(0), EmuData(0), 6)) << ZydisMnemonicGetString(f.m) << rfbm;
            EXPECT_EQ(0, memcmp(NativeData(24), EmuData(24), 416 - 24)) << ZydisMnemonicGetString(f.m) << rfbm;
            EXPECT_EQ(0, memcmp(NativeData(512), EmuData(512), size - 512)) << ZydisMnemonicGetString(f.m) << rfbm;

        }
    }
    // XRSTOR puts back what XSAVE saved (XSAVE leaves the header's reserved bytes alone: zero them).
    BusyState(77);
    memset(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR) + 512, 0, 64);
    in_->regs[HR_RAX] = max->xcr0_mask;
    in_->regs[HR_RDX] = 0;
    HarnessCode code = {};
    Append(&code, ZYDIS_MNEMONIC_XSAVE64, {M(x86_xsave_size(max->xcr0_mask))});
    Append(&code, ZYDIS_MNEMONIC_FNINIT, {});
    Append(&code, ZYDIS_MNEMONIC_XORPS, {R(ZYDIS_REGISTER_XMM5), R(ZYDIS_REGISTER_XMM5)});
    Append(&code, ZYDIS_MNEMONIC_XRSTOR64, {M(x86_xsave_size(max->xcr0_mask))});
    ASSERT_FALSE(code.failed);
    std::vector<uint8_t> bytes(code.bytes, code.bytes + code.len);
    RunBoth(bytes);
    EXPECT_EQ(0, memcmp(native_->state.ymm, emulated_->state.ymm, sizeof(native_->state.ymm)));
    EXPECT_EQ(0, memcmp(native_->state.fx.st, emulated_->state.fx.st, sizeof(native_->state.fx.st)));
    EXPECT_EQ(native_->state.fx.fcw, emulated_->state.fx.fcw);
    EXPECT_EQ(native_->state.fx.mxcsr, emulated_->state.fx.mxcsr);
    // An XSTATE_BV bit outside XCR0: #GP.
    uint64_t bv = 1ULL << 9;
    memcpy(harness_data(in_.get()) + (kDataBase - HARNESS_DATA_ADDR) + 512, &bv, 8);
    std::vector<uint8_t> xrstor = Insn(ZYDIS_MNEMONIC_XRSTOR64, {M(x86_xsave_size(max->xcr0_mask))});
    ASSERT_EQ(harness_run_emulated(xrstor.data(), xrstor.size(), in_.get(), emulated_.get(), backend_), 0);
    EXPECT_EQ(emulated_->signo, SIGSEGV);
}

VEC_INSTANTIATE(VecStateTest);

}  // namespace vectest
