// Stack instructions against native execution: PUSH/POP in every operand form and size, PUSHF/POPF
// (which bits a user program can change), ENTER at several nesting levels, LEAVE.
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

class CtlStackTest : public BackendTest {
  protected:
    void SetUp() override
    {
        BackendTest::SetUp();
        for (size_t i = 0; i < HARNESS_MEM_SIZE; i++) in_->mem[i] = static_cast<uint8_t>(i * 13 + 5);
    }

    bool Check(const std::vector<uint8_t> &code) { return CheckCase(Case(code)); }

    int Random(const std::vector<uint8_t> &code, int iterations, uint64_t seed)
    {
        HarnessCase c = Case(code);
        return harness_compare_random_ex(&c, iterations, seed, nullptr, nullptr);
    }
};

TEST_P(CtlStackTest, PushPopRegisters)
{
    for (int r = 0; r < 16; r++) {
        if (r == HR_RSP) continue;
        uint8_t rex = r >= 8 ? 0x41 : 0;
        uint8_t push = static_cast<uint8_t>(0x50 + (r & 7)), pop = static_cast<uint8_t>(0x58 + (r & 7));
        std::vector<uint8_t> pp = rex ? std::vector<uint8_t>{rex, push, 0x5a, rex, pop}   // push r; pop rdx; pop r
                                      : std::vector<uint8_t>{push, 0x5a, pop};
        EXPECT_EQ(Random(pp, 3, 10 + r), 0) << "register " << r;
        std::vector<uint8_t> p16 = {0x66};
        if (rex) p16.push_back(rex);
        p16.push_back(push);                 // push r16
        p16.push_back(0x66);
        if (rex) p16.push_back(rex);
        p16.push_back(pop);                  // pop r16 (merges)
        EXPECT_EQ(Random(p16, 3, 40 + r), 0) << "16-bit register " << r;
    }
    EXPECT_TRUE(Check({0x54}));              // push rsp: the old value
    EXPECT_TRUE(Check({0x5c}));              // pop rsp: the popped value wins
    EXPECT_TRUE(Check({0x66, 0x54}));        // push sp
    EXPECT_TRUE(Check({0x54, 0x5c}));        // push rsp; pop rsp
}

TEST_P(CtlStackTest, PushImmediatesAndMemory)
{
    EXPECT_TRUE(Check({0x6a, 0x80}));                          // push -128 (imm8, sign-extended)
    EXPECT_TRUE(Check({0x68, 0x00, 0x00, 0x00, 0x80}));        // push imm32, sign-extended
    EXPECT_TRUE(Check({0x66, 0x6a, 0xff}));                    // push word -1
    EXPECT_TRUE(Check({0x66, 0x68, 0x34, 0x12}));              // push word 0x1234
    EXPECT_TRUE(Check({0xff, 0x34, 0x24}));                    // push [rsp]
    EXPECT_TRUE(Check({0xff, 0x74, 0x24, 0x08}));              // push [rsp+8]
    EXPECT_TRUE(Check({0x66, 0xff, 0x74, 0x24, 0x08}));        // push word [rsp+8]
    in_->regs[HR_RBX] = HARNESS_DATA_ADDR + 0x40;
    EXPECT_TRUE(Check({0xff, 0x33}));                          // push [rbx]
}

TEST_P(CtlStackTest, PopToMemory)
{
    in_->regs[HR_RBX] = HARNESS_DATA_ADDR + 0x40;
    EXPECT_TRUE(Check({0x8f, 0x03}));                          // pop [rbx]
    EXPECT_TRUE(Check({0x66, 0x8f, 0x03}));                    // pop word [rbx]
    EXPECT_TRUE(Check({0x8f, 0x04, 0x24}));                    // pop [rsp]: addressed with the new RSP
    EXPECT_TRUE(Check({0x8f, 0x44, 0x24, 0x08}));              // pop [rsp+8]
    EXPECT_TRUE(Check({0x8f, 0x44, 0x24, 0xf0}));              // pop [rsp-16]
    EXPECT_TRUE(Check({0x66, 0x8f, 0x04, 0x24}));              // pop word [rsp]
    in_->regs[HR_RBX] = HARNESS_MEM_ADDR + HARNESS_MEM_SIZE;   // unmapped: faults, RSP unchanged
    EXPECT_TRUE(Check({0x8f, 0x03}));
    EXPECT_EQ(native_->signo, SIGSEGV);
}

TEST_P(CtlStackTest, PushFs)
{
    EXPECT_TRUE(Check({0x0f, 0xa0}));                          // push fs (selector 0 in a Linux process)
}

// PUSHF shows the lazy flags materialized; POPF takes the user-changeable bits.
TEST_P(CtlStackTest, PushfPopf)
{
    EXPECT_EQ(Random({0x9c}, 30, 7), 0);                       // pushfq
    EXPECT_EQ(Random({0x66, 0x9c}, 10, 8), 0);                 // pushf (16-bit)
    EXPECT_EQ(Random({0x48, 0x01, 0xd8, 0x9c}, 30, 9), 0);     // add rax, rbx; pushfq
    EXPECT_EQ(Random({0x48, 0x39, 0xd8, 0x9c}, 30, 10), 0);    // cmp rax, rbx; pushfq
    // popfq of chosen values, then pushfq to see what stuck: arithmetic flags, DF, NT, ID; IF and IOPL
    // cannot change at CPL 3; bits 3, 5, 15 read as 0 and bit 1 as 1.
    const uint64_t values[] = {0, 0xeff, 0x8d5, 0x400, 0x200000, 0x4000, 0x3000, 0x0202, 0xffffffffffc38ed5ULL & ~0x40100ULL};
    for (uint64_t v : values) {
        // push imm32 (v); popfq; pushfq; pop rax
        uint32_t imm = static_cast<uint32_t>(v);
        if (static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(imm))) != v) continue;
        EXPECT_TRUE(Check({0x68, static_cast<uint8_t>(imm), static_cast<uint8_t>(imm >> 8),
                           static_cast<uint8_t>(imm >> 16), static_cast<uint8_t>(imm >> 24), 0x9d, 0x9c, 0x58}))
            << "popfq 0x" << std::hex << v;
        // The same through the 16-bit forms: push word; popf; pushf; pop ax
        EXPECT_TRUE(Check({0x66, 0x68, static_cast<uint8_t>(imm), static_cast<uint8_t>(imm >> 8), 0x66, 0x9d, 0x66,
                           0x9c, 0x66, 0x58}))
            << "popf 0x" << std::hex << (v & 0xffff);
    }
    // POPF then a conditional branch on the popped flags: push 0x41 (ZF|CF); popfq; jz +2; push 1; push 2
    EXPECT_TRUE(Check({0x6a, 0x41, 0x9d, 0x74, 0x02, 0x6a, 0x01, 0x6a, 0x02}));
    // POPF setting DF, then a string instruction goes down: push 0x400; popfq; lodsb; cld
    in_->regs[HR_RSI] = HARNESS_DATA_ADDR + 0x10;
    EXPECT_TRUE(Check({0x68, 0x00, 0x04, 0x00, 0x00, 0x9d, 0xac, 0xfc}));
}

TEST_P(CtlStackTest, EnterLeave)
{
    in_->regs[HR_RBP] = HARNESS_STACK_TOP + 0x40;   // an old frame with words to copy (above RSP)
    EXPECT_TRUE(Check({0xc8, 0x00, 0x00, 0x00}));         // enter 0, 0
    EXPECT_TRUE(Check({0xc8, 0x20, 0x00, 0x00}));         // enter 32, 0
    EXPECT_TRUE(Check({0xc8, 0x10, 0x00, 0x01}));         // enter 16, 1
    EXPECT_TRUE(Check({0xc8, 0x08, 0x00, 0x03}));         // enter 8, 3
    EXPECT_TRUE(Check({0xc8, 0x00, 0x01, 0x1f}));         // enter 256, 31
    EXPECT_TRUE(Check({0xc8, 0x08, 0x00, 0x23}));         // enter 8, 35 (level taken mod 32)
    EXPECT_TRUE(Check({0x66, 0xc8, 0x08, 0x00, 0x02}));   // enter 8, 2 with 16-bit operands
    EXPECT_TRUE(Check({0xc9}));                           // leave
    EXPECT_TRUE(Check({0x66, 0xc9}));                     // leave (16-bit: pops BP)
    EXPECT_TRUE(Check({0xc8, 0x18, 0x00, 0x02, 0xc9}));   // enter 24, 2; leave
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlStackTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
