// Smoke tests of the differential harness: each case runs natively and under the CPU model (every backend
// there is) and must agree. They also show the three ways to write a case: bytes with the mnemonic as a
// comment, Zydis's encoder, and random inputs.
#include <errno.h>
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

class HarnessTest : public BackendTest {
  protected:
    // Runs the case both ways; true when they agree (a mismatch is printed in full on stderr).
    bool Check(const std::vector<uint8_t> &code, uint32_t flags_mask = 0, bool fork_emulated = false)
    {
        HarnessCase c = Case(code, flags_mask);
        c.fork_emulated = fork_emulated;
        return CheckCase(c);
    }

    int Random(const std::vector<uint8_t> &code, int iterations, uint64_t seed, uint32_t flags_mask = 0,
               void (*setup)(HarnessState *, HarnessRng *, void *) = nullptr, void *arg = nullptr)
    {
        HarnessCase c = Case(code, flags_mask);
        return harness_compare_random_ex(&c, iterations, seed, setup, arg);
    }
};

TEST_P(HarnessTest, Nop)
{
    in_->regs[HR_RAX] = 0x1234;
    in_->rflags = HARNESS_CF | HARNESS_SF;
    in_->ymm[7].q[1] = 0x99;
    EXPECT_TRUE(Check({0x90}));  // nop
    EXPECT_EQ(native_->status, HARNESS_DONE);
}

TEST_P(HarnessTest, MovImmediate)
{
    EXPECT_TRUE(Check({0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}));  // mov rax, 0x1122334455667788
    EXPECT_EQ(emulated_->state.regs[HR_RAX], 0x1122334455667788ULL);  // the emulated run really ran it
    EXPECT_TRUE(Check({0xb8, 0xff, 0xff, 0xff, 0xff}));  // mov eax, 0xffffffff (zeroes the upper half)
    EXPECT_TRUE(Check({0xb0, 0x12}));                    // mov al, 0x12 (merges)
}

TEST_P(HarnessTest, AddFlags)
{
    const uint64_t pairs[][2] = {{1, 2}, {~0ULL, 1}, {0x7fffffffffffffffULL, 1}, {0x0f, 1}, {0, 0}};
    for (const auto &p : pairs) {
        in_->regs[HR_RAX] = p[0];
        in_->regs[HR_RBX] = p[1];
        EXPECT_TRUE(Check({0x48, 0x01, 0xd8}));  // add rax, rbx
    }
    EXPECT_EQ(Random({0x48, 0x01, 0xd8}, 200, 1), 0);  // add rax, rbx
    EXPECT_EQ(Random({0x00, 0xd8}, 200, 2), 0);        // add al, bl
}

TEST_P(HarnessTest, PushPop)
{
    in_->regs[HR_RAX] = 0x0123456789abcdefULL;
    EXPECT_TRUE(Check({0x50, 0x5b}));        // push rax; pop rbx
    EXPECT_EQ(emulated_->state.regs[HR_RBX], 0x0123456789abcdefULL);
    EXPECT_TRUE(Check({0x50, 0x41, 0x5f}));  // push rax; pop r15
}

TEST_P(HarnessTest, StoreToTheDataBuffer)
{
    HarnessCode code = {};
    // mov [rdi+0x10], rax; mov ecx, [rdi+0x800]
    harness_emit(&code, ZYDIS_MNEMONIC_MOV, 2, harness_mem(8, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_NONE, 0, 0x10),
                 harness_reg(ZYDIS_REGISTER_RAX));
    harness_emit(&code, ZYDIS_MNEMONIC_MOV, 2, harness_reg(ZYDIS_REGISTER_ECX),
                 harness_mem(4, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_NONE, 0, 0x800));
    ASSERT_FALSE(code.failed);
    in_->regs[HR_RDI] = HARNESS_DATA_ADDR;
    in_->regs[HR_RAX] = 0xfeedfacecafebeefULL;
    memcpy(harness_data(in_.get()) + 0x800, "\x78\x56\x34\x12", 4);
    EXPECT_TRUE(Check(std::vector<uint8_t>(code.bytes, code.bytes + code.len)));
    EXPECT_EQ(emulated_->state.regs[HR_RCX], 0x12345678u);
    EXPECT_EQ(memcmp(harness_data(&emulated_->state) + 0x10, "\xef\xbe\xfe\xca\xce\xfa\xed\xfe", 8), 0);

    // Random inputs with the base register pointed into the data buffer: mov [rbx-0x40], rdx;
    // add rdx, [rbx+0x40].
    HarnessCode store = {};
    harness_emit(&store, ZYDIS_MNEMONIC_MOV, 2, harness_mem(8, ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_NONE, 0, -0x40),
                 harness_reg(ZYDIS_REGISTER_RDX));
    harness_emit(&store, ZYDIS_MNEMONIC_ADD, 2, harness_reg(ZYDIS_REGISTER_RDX),
                 harness_mem(8, ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_NONE, 0, 0x40));
    ASSERT_FALSE(store.failed);
    uint32_t regs = 1u << HR_RBX;
    EXPECT_EQ(Random(std::vector<uint8_t>(store.bytes, store.bytes + store.len), 100, 3, 0, harness_setup_data_regs,
                     &regs),
              0);
}

TEST_P(HarnessTest, DirectionFlag)
{
    EXPECT_TRUE(Check({0xfd}));  // std
    EXPECT_TRUE(emulated_->state.rflags & HARNESS_DF);
    in_->rflags = HARNESS_DF;
    EXPECT_TRUE(Check({0xfc}));  // cld
    EXPECT_FALSE(emulated_->state.rflags & HARNESS_DF);
}

TEST_P(HarnessTest, VectorAndMxcsr)
{
    in_->ymm[1].d[0] = 5;
    in_->ymm[2].d[0] = 7;
    in_->ymm[1].q[3] = 0x1234;  // an SSE instruction leaves the upper YMM half alone
    EXPECT_TRUE(Check({0x66, 0x0f, 0xfe, 0xca}));  // paddd xmm1, xmm2
    EXPECT_EQ(emulated_->state.ymm[1].d[0], 12u);
    in_->fx.mxcsr = 0x7f80;                      // round toward zero
    in_->ymm[3].f[0] = 1.0;
    in_->ymm[4].f[0] = 3.0;
    EXPECT_TRUE(Check({0xf2, 0x0f, 0x5e, 0xdc}));  // divsd xmm3, xmm4 (inexact: sets PE in MXCSR)
    EXPECT_NE(emulated_->state.fx.mxcsr & 0x20, 0u);
}

TEST_P(HarnessTest, X87)
{
    in_->regs[HR_RDI] = HARNESS_DATA_ADDR;
    EXPECT_TRUE(Check({0xd9, 0xe8, 0xd9, 0xe8, 0xde, 0xc1, 0xdd, 0x17}));  // fld1; fld1; faddp; fst qword [rdi]
    double d;
    memcpy(&d, harness_data(&emulated_->state), 8);
    EXPECT_EQ(d, 2.0);
}

TEST_P(HarnessTest, EndlessLoopTimesOutOnBothSides)
{
    harness_set_time_limit(1);
    EXPECT_TRUE(Check({0xeb, 0xfe}));  // jmp $
    harness_set_time_limit(5);
    EXPECT_EQ(native_->status, HARNESS_TIMEOUT);
    EXPECT_EQ(emulated_->status, HARNESS_TIMEOUT);
}

TEST_P(HarnessTest, Int3IsSigtrap)
{
    EXPECT_TRUE(Check({0x90, 0xcc}));  // nop; int3
    EXPECT_EQ(native_->signo, SIGTRAP);
    EXPECT_EQ(emulated_->signo, SIGTRAP);
    EXPECT_EQ(emulated_->rip, HARNESS_CODE_ADDR + 2);
}

TEST_P(HarnessTest, Ud2IsSigill)
{
    EXPECT_TRUE(Check({0x0f, 0x0b}));  // ud2
    EXPECT_EQ(native_->signo, SIGILL);
    EXPECT_EQ(emulated_->signo, SIGILL);
}

TEST_P(HarnessTest, DivideByZeroIsSigfpe)
{
    in_->regs[HR_RAX] = 100;
    in_->regs[HR_RCX] = 0;
    EXPECT_TRUE(Check({0x48, 0xf7, 0xf1}));  // div rcx
    EXPECT_EQ(native_->signo, SIGFPE);
    EXPECT_EQ(emulated_->signo, SIGFPE);
}

TEST_P(HarnessTest, LoadFromAnUnmappedPageIsSigsegv)
{
    in_->regs[HR_RBX] = HARNESS_MEM_ADDR + HARNESS_MEM_SIZE + 0x40;
    EXPECT_TRUE(Check({0x48, 0x8b, 0x03}));  // mov rax, [rbx]
    EXPECT_EQ(native_->signo, SIGSEGV);
    EXPECT_EQ(emulated_->fault_addr, HARNESS_MEM_ADDR + HARNESS_MEM_SIZE + 0x40);
}

TEST_P(HarnessTest, EmulatorInAForkedChild)
{
    in_->regs[HR_RAX] = ~0ULL;
    in_->regs[HR_RBX] = 1;
    EXPECT_TRUE(Check({0x48, 0x01, 0xd8}, 0, true));  // add rax, rbx
    EXPECT_EQ(emulated_->status, HARNESS_DONE);
    EXPECT_TRUE(emulated_->state.rflags & HARNESS_CF);
    EXPECT_TRUE(Check({0x0f, 0x0b}, 0, true));  // ud2
    EXPECT_EQ(emulated_->signo, SIGILL);
    in_->regs[HR_RBX] = 0x10;                           // unmapped (below the code region)
    EXPECT_TRUE(Check({0x48, 0x89, 0x03}, 0, true));  // mov [rbx], rax
    EXPECT_EQ(emulated_->fault_addr, 0x10u);
    harness_set_time_limit(1);
    EXPECT_TRUE(Check({0xeb, 0xfe}, 0, true));  // jmp $
    harness_set_time_limit(5);
    EXPECT_EQ(emulated_->status, HARNESS_TIMEOUT);
}

// A SYSCALL inside the code is a real call on both sides (not the emulated run's stop marker): the
// result in RAX, the next RIP in RCX and RFLAGS in R11, as Linux returns them; the code goes on after it.
TEST_P(HarnessTest, SyscallRunsAnAllowedCall)
{
    in_->rflags = HARNESS_CF | HARNESS_ZF | HARNESS_DF;
    const std::vector<uint8_t> code = {
        0xb8, 0x66, 0x00, 0x00, 0x00,        // mov eax, 102 (getuid)
        0x0f, 0x05,                          // syscall
        0x48, 0x89, 0xc3,                    // mov rbx, rax
        0xb8, 0xe8, 0x03, 0x00, 0x00,        // mov eax, 1000 (no such call)
        0x0f, 0x05,                          // syscall
    };
    for (bool fork_emulated : {false, true}) {
        EXPECT_TRUE(Check(code, 0, fork_emulated));
        EXPECT_EQ(native_->status, HARNESS_DONE);
        EXPECT_EQ(emulated_->status, HARNESS_DONE);
        EXPECT_EQ(emulated_->state.regs[HR_RBX], (uint64_t)getuid());
        EXPECT_EQ(emulated_->state.regs[HR_RAX], (uint64_t)-ENOSYS);
        EXPECT_EQ(emulated_->state.regs[HR_RCX], HARNESS_CODE_ADDR + code.size());
        EXPECT_EQ(native_->state.regs[HR_R11], 0x202u | HARNESS_CF | HARNESS_ZF | HARNESS_DF);
        EXPECT_EQ(emulated_->state.regs[HR_R11], native_->state.regs[HR_R11]);
    }
}

// Any other call number is refused: natively the child's seccomp filter answers -ENOSYS instead of running
// it, and the emulated run reports a harness error (the generator must never produce one).
TEST_P(HarnessTest, SyscallOutsideTheListIsRefused)
{
    static const uint8_t code[] = {0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05};   // mov eax, 39 (getpid); syscall
    ASSERT_EQ(harness_run_native(code, sizeof(code), in_.get(), native_.get()), 0);
    EXPECT_EQ(native_->status, HARNESS_DONE);
    EXPECT_EQ(native_->state.regs[HR_RAX], (uint64_t)-ENOSYS);
    ASSERT_EQ(harness_run_emulated(code, sizeof(code), in_.get(), emulated_.get(), backend_), 0);
    EXPECT_EQ(emulated_->status, HARNESS_ERROR);
    EXPECT_NE(strstr(emulated_->error, "not a call the harness allows"), nullptr) << emulated_->error;
}

// The comparison can fail: one register apart is a mismatch.
TEST_P(HarnessTest, ReportsAMismatch)
{
    HarnessResult a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.status = b.status = HARNESS_DONE;
    b.state.regs[HR_RDX] = 1;
    HarnessCase c = {};
    static const uint8_t nop = 0x90;
    c.code = &nop;
    c.len = 1;
    EXPECT_FALSE(harness_compare(&c, in_.get(), &a, &b, nullptr));
}

INSTANTIATE_TEST_SUITE_P(Backends, HarnessTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
