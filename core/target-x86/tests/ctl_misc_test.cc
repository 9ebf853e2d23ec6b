// System-ish and small instructions against native execution: the faults a user program gets (INT3,
// INT n, UD0/1/2, privileged instructions), the hints that do nothing, XLAT, CLD/STD, and the instructions
// whose values differ from run to run (RDTSC, RDRAND), checked for their form rather than their value.
#include <cpuid.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/target-x86/tests/backend_fixture.h"
#include "core/target-x86/tests/harness.h"
extern "C" {
#include "core/tcg/backend.h"
}

namespace {

class CtlMiscTest : public BackendTest {
  protected:
    void SetUp() override
    {
        BackendTest::SetUp();
        for (size_t i = 0; i < HARNESS_DATA_SIZE; i++) harness_data(in_.get())[i] = static_cast<uint8_t>(i * 3 + 1);
    }

    bool Check(const std::vector<uint8_t> &code, uint32_t ignore_regs = 0)
    {
        HarnessCase c = Case(code);
        c.ignore_regs = ignore_regs;
        return CheckCase(c);
    }
};

TEST_P(CtlMiscTest, SoftwareInterrupts)
{
    EXPECT_TRUE(Check({0x90, 0xcc}));            // int3: SIGTRAP, RIP after it
    EXPECT_EQ(emulated_->signo, SIGTRAP);
    EXPECT_EQ(emulated_->rip, HARNESS_CODE_ADDR + 2);
    EXPECT_TRUE(Check({0xcd, 0x03}));            // int 3: the same
    EXPECT_TRUE(Check({0xcd, 0x21}));            // int 0x21: #GP, SIGSEGV at the instruction
    EXPECT_EQ(emulated_->signo, SIGSEGV);
    EXPECT_EQ(emulated_->rip, HARNESS_CODE_ADDR);
    EXPECT_TRUE(Check({0xcd, 0xff}));            // int 0xff
    EXPECT_TRUE(Check({0xcd, 0x04}));            // int 4: #OF, a trap (SIGSEGV after it)
    EXPECT_EQ(emulated_->rip, HARNESS_CODE_ADDR + 2);
    EXPECT_TRUE(Check({0x6a, 0x01, 0xf1}));      // push 1; int1 (icebp): SIGTRAP after it
}

TEST_P(CtlMiscTest, UndefinedAndPrivilegedFault)
{
    EXPECT_TRUE(Check({0x0f, 0x0b}));            // ud2
    EXPECT_TRUE(Check({0x0f, 0xb9, 0xc0}));      // ud1 eax, eax
    EXPECT_TRUE(Check({0x0f, 0xff, 0xc0}));      // ud0 eax, eax
    EXPECT_EQ(emulated_->signo, SIGILL);
    const std::vector<std::vector<uint8_t>> privileged = {
        {0xf4},                   // hlt
        {0xfa},                   // cli
        {0xfb},                   // sti
        {0xe4, 0x60},             // in al, 0x60
        {0xec},                   // in al, dx
        {0xe6, 0x80},             // out 0x80, al
        {0xee},                   // out dx, al
        {0x6c},                   // insb
        {0x6e},                   // outsb
        {0x0f, 0x06},             // clts
        {0x0f, 0x09},             // wbinvd
        {0x0f, 0x32},             // rdmsr
        {0x0f, 0x30},             // wrmsr
        {0x0f, 0x01, 0xf8},       // swapgs
        {0x0f, 0x01, 0x38},       // invlpg [rax]
        {0x0f, 0x01, 0x10},       // lgdt [rax]
    };
    in_->regs[HR_RAX] = HARNESS_DATA_ADDR;
    for (const auto &code : privileged) {
        EXPECT_TRUE(Check(code)) << "opcode " << std::hex << int(code[0]) << " " << int(code.size() > 1 ? code[1] : 0);
        EXPECT_EQ(emulated_->signo, SIGSEGV);
    }
}

// Instructions that do nothing a user program can see.
TEST_P(CtlMiscTest, Hints)
{
    in_->regs[HR_RAX] = HARNESS_DATA_ADDR + 0x80;
    in_->rflags = HARNESS_CF | HARNESS_ZF;
    const std::vector<std::vector<uint8_t>> hints = {
        {0xf3, 0x90},                   // pause
        {0xf3, 0x0f, 0x1e, 0xfa},       // endbr64
        {0xf3, 0x0f, 0x1e, 0xfb},       // endbr32
        {0x0f, 0xae, 0xe8},             // lfence
        {0x0f, 0xae, 0xf0},             // mfence
        {0x0f, 0xae, 0xf8},             // sfence
        {0x0f, 0x18, 0x00},             // prefetchnta [rax]
        {0x0f, 0x18, 0x08},             // prefetcht0 [rax]
        {0x0f, 0x18, 0x10},             // prefetcht1 [rax]
        {0x0f, 0x18, 0x18},             // prefetcht2 [rax]
        {0x0f, 0x0d, 0x08},             // prefetchw [rax]
        {0x0f, 0xae, 0x38},             // clflush [rax]
        {0x66, 0x0f, 0xae, 0x38},       // clflushopt [rax]
    };
    for (const auto &code : hints) {
        EXPECT_TRUE(Check(code)) << "bytes " << std::hex << int(code[0]) << " " << int(code[1]);
        EXPECT_EQ(emulated_->status, HARNESS_DONE);
    }
    in_->regs[HR_RAX] = 0x123456789000ULL;   // a prefetch of an unmapped address does not fault
    EXPECT_TRUE(Check({0x0f, 0x18, 0x08}));
}

TEST_P(CtlMiscTest, Xlat)
{
    in_->regs[HR_RBX] = HARNESS_DATA_ADDR + 0x100;
    const uint64_t rax[] = {0, 0x7f, 0x80, 0xff, 0xdeadbeef12345691ULL};
    for (uint64_t a : rax) {
        in_->regs[HR_RAX] = a;
        EXPECT_TRUE(Check({0xd7})) << "xlat al=" << (a & 0xff);         // xlat
    }
    in_->regs[HR_RBX] = 0xffffffff00000000ULL | (HARNESS_DATA_ADDR + 0x100);
    EXPECT_TRUE(Check({0x67, 0xd7}));                                // xlat with a 32-bit address
}

TEST_P(CtlMiscTest, CldStd)
{
    in_->regs[HR_RSI] = HARNESS_DATA_ADDR + 0x40;
    EXPECT_TRUE(Check({0xfd}));                      // std
    EXPECT_TRUE(Check({0xfd, 0xac, 0xac}));          // std; lodsb; lodsb
    in_->rflags = HARNESS_DF;
    EXPECT_TRUE(Check({0xfc}));                      // cld
    EXPECT_TRUE(Check({0xfc, 0xac, 0x9c}));          // cld; lodsb; pushfq
    EXPECT_TRUE(Check({0xfd, 0x9c, 0xfc}));          // std; pushfq; cld
}

// The TSC: EDX:EAX with both upper halves clear, and it moves forward.
TEST_P(CtlMiscTest, Rdtsc)
{
    const uint32_t tsc_regs = (1u << HR_RAX) | (1u << HR_RDX);
    // rdtsc; mov r8, rax; mov r9, rdx; rdtsc
    EXPECT_TRUE(Check({0x0f, 0x31, 0x49, 0x89, 0xc0, 0x49, 0x89, 0xd1, 0x0f, 0x31},
                      tsc_regs | (1u << HR_R8) | (1u << HR_R9)));
    const uint64_t *r = emulated_->state.regs;
    EXPECT_EQ(r[HR_RAX] >> 32, 0u);
    EXPECT_EQ(r[HR_RDX] >> 32, 0u);
    EXPECT_GE((r[HR_RDX] << 32) | r[HR_RAX], (r[HR_R9] << 32) | r[HR_R8]);
    EXPECT_NE((r[HR_RDX] << 32) | r[HR_RAX], 0u);
    // rdtscp: also ECX = TSC_AUX, Linux's (node << 12) | cpu (which CPU differs between the two runs)
    in_->regs[HR_RCX] = ~0ULL;
    EXPECT_TRUE(Check({0x0f, 0x01, 0xf9}, tsc_regs | (1u << HR_RCX)));
    EXPECT_LT(emulated_->state.regs[HR_RCX] & 0xfff, (uint64_t)sysconf(_SC_NPROCESSORS_CONF));
    EXPECT_EQ(emulated_->state.regs[HR_RCX] >> 32, 0u);
}

// RDPID: TSC_AUX as RDTSCP's ECX. LSL at CPL 3: Linux's flat user segments, its per-CPU segment (the
// vDSO's getcpu on CPUs without RDPID), and a failure (ZF = 0, destination kept) for anything else.
TEST_P(CtlMiscTest, CpuNumber)
{
    unsigned a, b, c, d;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 22))) {
        in_->regs[HR_RAX] = ~0ULL;
        EXPECT_TRUE(Check({0xf3, 0x0f, 0xc7, 0xf8}, 1u << HR_RAX));   // rdpid rax
        EXPECT_LT(emulated_->state.regs[HR_RAX] & 0xfff, (uint64_t)sysconf(_SC_NPROCESSORS_CONF));
    }
    // mov ebx, 0x2b; lsl eax, ebx
    in_->regs[HR_RAX] = 0x1234;
    EXPECT_TRUE(Check({0xbb, 0x2b, 0x00, 0x00, 0x00, 0x0f, 0x03, 0xc3}));
    EXPECT_EQ(emulated_->state.regs[HR_RAX], 0xffffffffu);
    EXPECT_TRUE(emulated_->state.rflags & HARNESS_ZF);
    // mov ebx, 0x10 (the kernel's code segment: not visible at CPL 3); lsl eax, ebx
    in_->regs[HR_RAX] = 0x1234;
    EXPECT_TRUE(Check({0xbb, 0x10, 0x00, 0x00, 0x00, 0x0f, 0x03, 0xc3}));
    EXPECT_EQ(emulated_->state.regs[HR_RAX], 0x1234u);
    EXPECT_FALSE(emulated_->state.rflags & HARNESS_ZF);
    // mov ebx, 0x7b; lsl eax, ebx: (node << 12) | cpu
    EXPECT_TRUE(Check({0xbb, 0x7b, 0x00, 0x00, 0x00, 0x0f, 0x03, 0xc3}, 1u << HR_RAX));
    EXPECT_LT(emulated_->state.regs[HR_RAX] & 0xfff, (uint64_t)sysconf(_SC_NPROCESSORS_CONF));
    EXPECT_TRUE(emulated_->state.rflags & HARNESS_ZF);
}

// RDRAND: a value and CF = 1 with the other flags clear; two draws differ.
TEST_P(CtlMiscTest, Rdrand)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 30))) GTEST_SKIP() << "the host has no RDRAND";
    in_->rflags = HARNESS_ZF | HARNESS_SF | HARNESS_OF | HARNESS_PF | HARNESS_AF;
    in_->regs[HR_RBX] = 0x1111111111111111ULL;
    // rdrand rax; rdrand rbx
    EXPECT_TRUE(Check({0x48, 0x0f, 0xc7, 0xf0, 0x48, 0x0f, 0xc7, 0xf3}, (1u << HR_RAX) | (1u << HR_RBX)));
    EXPECT_EQ(emulated_->state.rflags & HARNESS_ARITH_FLAGS, HARNESS_CF);
    EXPECT_NE(emulated_->state.regs[HR_RAX], emulated_->state.regs[HR_RBX]);
    // rdrand ax merges into RAX; rdrand ecx clears RCX's upper half
    in_->regs[HR_RAX] = 0x1234567890abcdefULL;
    in_->regs[HR_RCX] = 0xffffffffffffffffULL;
    EXPECT_TRUE(Check({0x66, 0x0f, 0xc7, 0xf0, 0x0f, 0xc7, 0xf1}, (1u << HR_RAX) | (1u << HR_RCX)));
    EXPECT_EQ(emulated_->state.regs[HR_RAX] >> 16, 0x1234567890abULL);
    EXPECT_EQ(emulated_->state.regs[HR_RCX] >> 32, 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlMiscTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
