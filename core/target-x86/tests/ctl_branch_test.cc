// Control transfers against native execution: Jcc (all 16 conditions, short and near forms, from every
// flag combination and after CMP), JMP/CALL/RET in their direct and indirect forms, JRCXZ/JECXZ, LOOP*.
#include <signal.h>
#include <stdlib.h>
#include <string.h>

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

class CtlBranchTest : public BackendTest {
  protected:
    bool Check(const std::vector<uint8_t> &code) { return CheckCase(Case(code)); }

    int Random(const std::vector<uint8_t> &code, int iterations, uint64_t seed)
    {
        HarnessCase c = Case(code);
        return harness_compare_random_ex(&c, iterations, seed, nullptr, nullptr);
    }

    // Random registers, but those in `mask` point into the data buffer.
    int RandomWithData(const std::vector<uint8_t> &code, int iterations, uint64_t seed, uint32_t mask)
    {
        HarnessCase c = Case(code);
        return harness_compare_random_ex(&c, iterations, seed, harness_setup_data_regs, &mask);
    }
};

// The taken path pushes 2, the fall-through pushes 1 then 2: the stack and RSP tell which one ran.
TEST_P(CtlBranchTest, JccEveryConditionEveryFlagCombination)
{
    const uint32_t bits[] = {HARNESS_CF, HARNESS_PF, HARNESS_ZF, HARNESS_SF, HARNESS_OF};
    for (int cc = 0; cc < 16; cc++) {
        for (int combo = 0; combo < 32; combo++) {
            in_->rflags = 0;
            for (int b = 0; b < 5; b++) {
                if (combo & (1 << b)) in_->rflags |= bits[b];
            }
            // jcc +2; push 1; push 2
            EXPECT_TRUE(Check({static_cast<uint8_t>(0x70 + cc), 0x02, 0x6a, 0x01, 0x6a, 0x02}))
                << "short jcc " << cc << " flags " << in_->rflags;
            // jcc near +2 (0F 8x rel32)
            EXPECT_TRUE(Check({0x0f, static_cast<uint8_t>(0x80 + cc), 0x02, 0x00, 0x00, 0x00, 0x6a, 0x01, 0x6a, 0x02}))
                << "near jcc " << cc << " flags " << in_->rflags;
        }
    }
}

// Jcc straight after CMP, from random operands (the lazy-flag path rather than materialized flags).
TEST_P(CtlBranchTest, JccAfterCmp)
{
    for (int cc = 0; cc < 16; cc++) {
        // cmp rax, rbx; jcc +2; push 1; push 2
        EXPECT_EQ(Random({0x48, 0x39, 0xd8, static_cast<uint8_t>(0x70 + cc), 0x02, 0x6a, 0x01, 0x6a, 0x02}, 40,
                         1000 + cc),
                  0)
            << "cmp rax, rbx; jcc " << cc;
        // cmp al, bl; jcc ...
        EXPECT_EQ(Random({0x38, 0xd8, static_cast<uint8_t>(0x70 + cc), 0x02, 0x6a, 0x01, 0x6a, 0x02}, 40, 2000 + cc), 0)
            << "cmp al, bl; jcc " << cc;
    }
}

// The same with the Jcc in the next block (a jmp between them): the flags come from what CMP recorded in
// the CPU state, which keeps its result and subtrahend but not its minuend (cc.h).
TEST_P(CtlBranchTest, JccAfterCmpInTheNextBlock)
{
    for (int cc = 0; cc < 16; cc++) {
        // cmp rax, rbx; jmp +0; jcc +2; push 1; push 2
        EXPECT_EQ(Random({0x48, 0x39, 0xd8, 0xeb, 0x00, static_cast<uint8_t>(0x70 + cc), 0x02, 0x6a, 0x01, 0x6a, 0x02},
                         40, 3000 + cc),
                  0)
            << "cmp rax, rbx; jmp; jcc " << cc;
        // cmp al, bl; jmp +0; jcc ...
        EXPECT_EQ(Random({0x38, 0xd8, 0xeb, 0x00, static_cast<uint8_t>(0x70 + cc), 0x02, 0x6a, 0x01, 0x6a, 0x02}, 40,
                         4000 + cc),
                  0)
            << "cmp al, bl; jmp; jcc " << cc;
    }
}

// A backward branch forms a loop across blocks: count RCX down with LOOP, and with a Jcc on the flags of
// an earlier compare.
TEST_P(CtlBranchTest, LoopForms)
{
    const uint64_t counts[] = {1, 2, 7, 0x100000003ULL};
    for (uint64_t n : counts) {
        for (uint32_t zf : {0u, static_cast<uint32_t>(HARNESS_ZF)}) {
            in_->regs[HR_RCX] = n;
            in_->rflags = zf;
            if (n < 100) {
                EXPECT_TRUE(Check({0xe2, 0xfe})) << "loop . rcx " << n;   // loop .
                EXPECT_TRUE(Check({0xe1, 0xfe})) << "loope . rcx " << n;  // loope .
                EXPECT_TRUE(Check({0xe0, 0xfe})) << "loopne . rcx " << n; // loopne .
            }
            EXPECT_TRUE(Check({0x67, 0xe2, 0xfe})) << "a32 loop . rcx " << n;   // loop . with ECX
            EXPECT_TRUE(Check({0x67, 0xe1, 0xfe})) << "a32 loope . rcx " << n;
        }
    }
    // push 3; loop back over it three times (rcx = 3): three pushes in all.
    in_->regs[HR_RCX] = 3;
    EXPECT_TRUE(Check({0x6a, 0x03, 0xe2, 0xfc}));
}

TEST_P(CtlBranchTest, Jrcxz)
{
    const uint64_t values[] = {0, 1, 0x100000000ULL, 0xffffffffULL};
    for (uint64_t v : values) {
        in_->regs[HR_RCX] = v;
        EXPECT_TRUE(Check({0xe3, 0x02, 0x6a, 0x01, 0x6a, 0x02})) << "jrcxz rcx " << v;        // jrcxz +2
        EXPECT_TRUE(Check({0x67, 0xe3, 0x02, 0x6a, 0x01, 0x6a, 0x02})) << "jecxz rcx " << v;  // jecxz +2
    }
}

TEST_P(CtlBranchTest, JmpForms)
{
    // jmp +2 (short), jmp +2 (near): over a push
    EXPECT_TRUE(Check({0xeb, 0x02, 0x6a, 0x01, 0x6a, 0x02}));
    EXPECT_TRUE(Check({0xe9, 0x02, 0x00, 0x00, 0x00, 0x6a, 0x01, 0x6a, 0x02}));
    // push target; jmp [rsp]; push 1; target: push 2     (target = code + 0x0a)
    EXPECT_TRUE(Check({0x68, 0x0a, 0x00, 0x00, 0x10, 0xff, 0x24, 0x24, 0x6a, 0x01, 0x6a, 0x02}));
    // push target; pop rax; jmp rax; push 1; target: push 2   (target = code + 0x0a)
    EXPECT_TRUE(Check({0x68, 0x0a, 0x00, 0x00, 0x10, 0x58, 0xff, 0xe0, 0x6a, 0x01, 0x6a, 0x02}));
    // Blocks that jump back and forth: 0: jmp 6; 2: push 1; 4: jmp 8; 6: jmp 2; 8: push 2
    EXPECT_TRUE(Check({0xeb, 0x04, 0x6a, 0x01, 0xeb, 0x02, 0xeb, 0xfa, 0x6a, 0x02}));
}

// call f; push 7; jmp end; f: push 5; pop rax; ret; end:
TEST_P(CtlBranchTest, CallAndRet)
{
    EXPECT_TRUE(Check({0xe8, 0x04, 0x00, 0x00, 0x00, 0x6a, 0x07, 0xeb, 0x04, 0x6a, 0x05, 0x58, 0xc3}));
    // call f; jmp end; f: ret 16  (releases 16 bytes above the return address)
    EXPECT_TRUE(Check({0xe8, 0x02, 0x00, 0x00, 0x00, 0xeb, 0x03, 0xc2, 0x10, 0x00}));
    // push f; call [rsp]; jmp end; nop; nop; f: ret     (f = code + 0x0c, end = code + 0x0d)
    EXPECT_TRUE(Check({0x68, 0x0c, 0x00, 0x00, 0x10, 0xff, 0x14, 0x24, 0xeb, 0x03, 0x90, 0x90, 0xc3}));
    // push f; pop rbx; call rbx; jmp end; nop; f: ret   (f = code + 0x0b, end = code + 0x0c)
    EXPECT_TRUE(Check({0x68, 0x0b, 0x00, 0x00, 0x10, 0x5b, 0xff, 0xd3, 0xeb, 0x02, 0x90, 0xc3}));
    // A return to an address popped from data: push end; ret
    EXPECT_TRUE(Check({0x68, 0x06, 0x00, 0x00, 0x10, 0xc3}));
}

// A jump to an unmapped address faults there (SIGSEGV, RIP and address = the target).
TEST_P(CtlBranchTest, JumpToUnmappedMemory)
{
    EXPECT_TRUE(Check({0x68, 0x00, 0x50, 0x34, 0x12, 0xc3}));   // push 0x12345000; ret
    EXPECT_EQ(native_->signo, SIGSEGV);
    EXPECT_EQ(emulated_->rip, 0x12345000u);
}

// A near branch to a non-canonical address is #GP at the branch: SIGSEGV with RIP at the branch itself,
// nothing pushed or popped (the emulated state is compared with the native one, RSP included).
TEST_P(CtlBranchTest, BranchToNonCanonicalAddress)
{
    const struct {
        std::vector<uint8_t> code;
        uint64_t branch_at;  // offset of the branch in the code
    } cases[] = {
        {{0xff, 0xe0}, 0},              // jmp rax
        {{0xff, 0xd0}, 0},              // call rax
        {{0x50, 0xc3}, 1},              // push rax; ret
        {{0x50, 0xc2, 0x08, 0x00}, 1},  // push rax; ret 8
    };
    for (const auto &c : cases) {
        in_->regs[HR_RAX] = 0x8000000000001000ULL;
        EXPECT_TRUE(Check(c.code));
        EXPECT_EQ(native_->signo, SIGSEGV);
        EXPECT_EQ(emulated_->rip, HARNESS_CODE_ADDR + c.branch_at);
    }
}

// Recursion: f pushes RCX, counts it down and calls itself until RCX is 0, then every level returns.
TEST_P(CtlBranchTest, RecursiveCalls)
{
    in_->regs[HR_RCX] = 20;
    std::vector<uint8_t> code = {
        0xe8, 0x02, 0x00, 0x00, 0x00,  // 0x00: call 0x07
        0xeb, 0x0d,                    // 0x05: jmp 0x14 (the end)
        0xe3, 0x0a,                    // 0x07: jrcxz 0x13
        0x51,                          // 0x09: push rcx
        0xe2, 0x00,                    // 0x0a: loop 0x0c (rcx -= 1; both ways lead on)
        0xe8, 0xf6, 0xff, 0xff, 0xff,  // 0x0c: call 0x07
        0x59,                          // 0x11: pop rcx
        0x90,                          // 0x12: nop
        0xc3,                          // 0x13: ret
    };
    EXPECT_TRUE(Check(code));
    EXPECT_EQ(native_->status, HARNESS_DONE);
}

// Blocks go on past conditional branches (side exits, translate.c): five Jccs in a row with work between
// them, each taken or not by the random operands; the pushes tell which way the code left. The fifth has
// no goto_tb slot left and ends the block the old way. Registers written between the branches are in host
// registers only when a later branch is taken (the JIT writes them back on its way out).
TEST_P(CtlBranchTest, SideExitsOfOneBlock)
{
    const std::vector<uint8_t> code = {
        0x48, 0x01, 0xd8,        // 0x00: add rax, rbx
        0x74, 0x1f,              // 0x03: jz 0x24
        0x48, 0x01, 0xc1,        // 0x05: add rcx, rax
        0x72, 0x18,              // 0x08: jc 0x22
        0x48, 0x29, 0xca,        // 0x0a: sub rdx, rcx
        0x78, 0x11,              // 0x0d: js 0x20
        0x48, 0x31, 0xd6,        // 0x0f: xor rsi, rdx
        0x70, 0x0a,              // 0x12: jo 0x1e
        0x48, 0x01, 0xf7,        // 0x14: add rdi, rsi
        0x90,                    // 0x17: nop
        0x71, 0x02,              // 0x18: jno 0x1c
        0x6a, 0x01,              // 0x1a: push 1
        0x6a, 0x02,              // 0x1c: push 2
        0x6a, 0x03,              // 0x1e: push 3
        0x6a, 0x04,              // 0x20: push 4
        0x6a, 0x05,              // 0x22: push 5
        0x6a, 0x06,              // 0x24: push 6
    };
    EXPECT_EQ(Random(code, 200, 5100), 0);
    // With RAX = -RBX the first branch is taken: the block leaves through its first side exit.
    in_->regs[0] = 5;
    in_->regs[3] = static_cast<uint64_t>(-5);
    EXPECT_TRUE(Check(code));
}

// A guest access that faults after a side exit, with registers written since the branch: the fault
// handler restores them from the host registers (fault sites), not from a write-back the branch skipped.
TEST_P(CtlBranchTest, FaultAfterASideExit)
{
    const std::vector<uint8_t> code = {
        0x48, 0x01, 0xd8,  // 0x00: add rax, rbx
        0x74, 0x09,        // 0x03: jz 0x0e
        0x48, 0x01, 0xc1,  // 0x05: add rcx, rax
        0x48, 0x8b, 0x12,  // 0x08: mov rdx, [rdx]
        0x48, 0x01, 0xd6,  // 0x0b: add rsi, rdx
        0x6a, 0x01,        // 0x0e: push 1
    };
    EXPECT_EQ(Random(code, 40, 5200), 0);                          // RDX random: a fault
    EXPECT_EQ(RandomWithData(code, 40, 5201, 1u << 2), 0);        // RDX into the data: none
}

// A loop whose backward Jcc is a side exit of a block that goes on after it.
TEST_P(CtlBranchTest, LoopThroughASideExit)
{
    const std::vector<uint8_t> code = {
        0xb9, 0x05, 0x00, 0x00, 0x00,  // 0x00: mov ecx, 5
        0x48, 0x01, 0xc8,              // 0x05: add rax, rcx
        0xff, 0xc9,                    // 0x08: dec ecx
        0x75, 0xf9,                    // 0x0a: jnz 0x05
        0x50,                          // 0x0c: push rax
    };
    EXPECT_EQ(Random(code, 20, 5300), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlBranchTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
