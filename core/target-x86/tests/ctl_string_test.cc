// String instructions (MOVS STOS LODS CMPS SCAS) against native execution: every size, both directions,
// no prefix / REP(E) / REPNE, RCX = 0, overlapping buffers, the 0x67 address size, and faults in the
// middle of a REP run (the registers must say exactly how far it got).
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

enum Op { MOVS, STOS, LODS, CMPS, SCAS };
const uint8_t kOpcodeB[] = {0xa4, 0xaa, 0xac, 0xa6, 0xae};   // the byte forms; +1 for W/D/Q
const char *const kOpName[] = {"movs", "stos", "lods", "cmps", "scas"};

// The bytes of one string instruction: [prefix] [0x67] [0x66 | REX.W] opcode.
std::vector<uint8_t> StringInsn(Op op, int size_log2, uint8_t rep, bool a32)
{
    std::vector<uint8_t> code;
    if (rep) code.push_back(rep);
    if (a32) code.push_back(0x67);
    if (size_log2 == 1) code.push_back(0x66);
    if (size_log2 == 3) code.push_back(0x48);
    code.push_back(static_cast<uint8_t>(kOpcodeB[op] + (size_log2 ? 1 : 0)));
    return code;
}

// How the random inputs of one configuration are laid out.
struct Layout {
    bool df;
    int64_t delta;        // RDI - RSI
    uint64_t max_count;
    uint8_t fill;         // most data bytes are this value (long equal runs for CMPS/SCAS)
    bool a32_garbage;     // put garbage in the upper halves of RCX/RSI/RDI
};

void SetupLayout(HarnessState *s, HarnessRng *r, void *arg)
{
    const Layout *l = static_cast<const Layout *>(arg);
    // Far enough from both ends of the data buffer for 300 quadwords either way.
    uint64_t rsi = HARNESS_DATA_ADDR + (l->df ? 0x1e00 : 0x100);
    uint64_t rdi = rsi + static_cast<uint64_t>(l->delta);
    uint64_t count = harness_rng_next(r) % 4 == 0 ? 0 : harness_rng_next(r) % (l->max_count + 1);
    s->regs[HR_RSI] = rsi;
    s->regs[HR_RDI] = rdi;
    s->regs[HR_RCX] = count;
    if (l->a32_garbage) {
        s->regs[HR_RSI] |= harness_rng_next(r) << 32;
        s->regs[HR_RDI] |= harness_rng_next(r) << 32;
        s->regs[HR_RCX] |= harness_rng_next(r) << 32;
    }
    if (l->df) s->rflags |= HARNESS_DF;
    uint8_t *data = harness_data(s);
    for (size_t i = 0; i < HARNESS_DATA_SIZE; i++) {
        data[i] = harness_rng_next(r) % 32 == 0 ? static_cast<uint8_t>(harness_rng_next(r)) : l->fill;
    }
    // The accumulator: usually the fill pattern (REPE SCAS runs long), sometimes a rare value.
    uint64_t fill64 = 0x0101010101010101ULL * l->fill;
    s->regs[HR_RAX] = harness_rng_next(r) % 2 ? fill64 : harness_rng_next(r);
}

class CtlStringTest : public BackendTest {
  protected:
    bool Check(const std::vector<uint8_t> &code) { return CheckCase(Case(code)); }

    int Random(const std::vector<uint8_t> &code, const Layout &layout, int iterations, uint64_t seed)
    {
        HarnessCase c = Case(code);
        return harness_compare_random_ex(&c, iterations, seed, SetupLayout, const_cast<Layout *>(&layout));
    }
};

// Every operation, size, direction and prefix, from random states with RCX from 0 to 300.
TEST_P(CtlStringTest, AllFormsBothDirections)
{
    const uint8_t reps[] = {0, 0xf3, 0xf2};
    uint64_t seed = 1;
    for (int op = MOVS; op <= SCAS; op++) {
        for (int size = 0; size < 4; size++) {
            for (uint8_t rep : reps) {
                for (int df = 0; df < 2; df++) {
                    Layout l = {df != 0, df ? -0x1000 : 0x1000, 300, 0x5a, false};
                    auto code = StringInsn(static_cast<Op>(op), size, rep, false);
                    EXPECT_EQ(Random(code, l, 6, seed++), 0)
                        << kOpName[op] << " size " << (1 << size) << " rep " << int(rep) << " df " << df;
                }
            }
        }
    }
}

// REP MOVS where source and destination overlap, in both directions: the result must be the
// element-by-element one (e.g. rdi = rsi + 1 replicates a byte).
TEST_P(CtlStringTest, OverlappingMoves)
{
    const int64_t deltas[] = {1, 3, -1, -3, 8, -8, 0, 17, -17};
    uint64_t seed = 100;
    for (int size = 0; size < 4; size++) {
        for (int df = 0; df < 2; df++) {
            for (int64_t delta : deltas) {
                Layout l = {df != 0, delta, 300, 0x33, false};
                EXPECT_EQ(Random(StringInsn(MOVS, size, 0xf3, false), l, 4, seed++), 0)
                    << "size " << (1 << size) << " df " << df << " delta " << delta;
            }
        }
    }
}

// A long REP MOVSB/STOSB that crosses pages, with and without a near overlap.
TEST_P(CtlStringTest, LongRuns)
{
    for (size_t i = 0; i < HARNESS_DATA_SIZE; i++) harness_data(in_.get())[i] = static_cast<uint8_t>(i * 7 + i / 256);
    struct {
        uint64_t rsi, rdi, rcx;
        bool df;
    } cases[] = {
        {HARNESS_DATA_ADDR + 0x10, HARNESS_STACK_ADDR + 0x20, 0x1f00, false},
        {HARNESS_DATA_ADDR + 0x80, HARNESS_DATA_ADDR + 0x100, 0x1e00, false},   // overlap: chunks of 0x80
        {HARNESS_DATA_ADDR + 0x100, HARNESS_DATA_ADDR + 0x80, 0x1e00, false},
        {HARNESS_DATA_ADDR + 0x1f80, HARNESS_DATA_ADDR + 0x1fc0, 0x1e00, true},
        {HARNESS_DATA_ADDR + 0x1fff, HARNESS_STACK_ADDR + 0x1ff0, 0x1ff0, true},
    };
    for (const auto &c : cases) {
        in_->regs[HR_RSI] = c.rsi;
        in_->regs[HR_RDI] = c.rdi;
        in_->regs[HR_RCX] = c.rcx;
        in_->regs[HR_RAX] = 0x1122334455667788ULL;
        in_->rflags = c.df ? HARNESS_DF : 0;
        EXPECT_TRUE(Check({0xf3, 0xa4}));          // rep movsb
        EXPECT_TRUE(Check({0xf3, 0xaa}));          // rep stosb
        in_->regs[HR_RCX] = c.rcx / 8;
        EXPECT_TRUE(Check({0xf3, 0x48, 0xa5}));    // rep movsq
        EXPECT_TRUE(Check({0xf3, 0x48, 0xab}));    // rep stosq
    }
}

// The 0x67 prefix: ECX/ESI/EDI count and address; the upper halves hold garbage.
TEST_P(CtlStringTest, AddressSize32)
{
    const uint8_t reps[] = {0, 0xf3, 0xf2};
    uint64_t seed = 300;
    for (int op = MOVS; op <= SCAS; op++) {
        for (uint8_t rep : reps) {
            for (int df = 0; df < 2; df++) {
                Layout l = {df != 0, df ? -0x1000 : 0x1000, 40, 0x77, true};
                EXPECT_EQ(Random(StringInsn(static_cast<Op>(op), 0, rep, true), l, 4, seed++), 0)
                    << kOpName[op] << " rep " << int(rep) << " df " << df;
                EXPECT_EQ(Random(StringInsn(static_cast<Op>(op), 2, rep, true), l, 4, seed++), 0)
                    << kOpName[op] << " dword rep " << int(rep) << " df " << df;
            }
        }
    }
}

// REPE CMPSB / REPNE SCASB with a known first difference / first match, and RCX = 0 leaving the flags.
TEST_P(CtlStringTest, CompareStopsAtTheRightElement)
{
    uint8_t *data = harness_data(in_.get());
    const char a[] = "hello, world! the same text";
    const char b[] = "hello, world? the same text";
    memcpy(data + 0x100, a, sizeof(a));
    memcpy(data + 0x200, b, sizeof(b));
    in_->regs[HR_RSI] = HARNESS_DATA_ADDR + 0x100;
    in_->regs[HR_RDI] = HARNESS_DATA_ADDR + 0x200;
    const uint64_t counts[] = {0, 5, 12, 13, 40};
    for (uint64_t n : counts) {
        in_->regs[HR_RCX] = n;
        in_->rflags = HARNESS_CF | HARNESS_ZF | HARNESS_PF;     // must survive RCX = 0
        EXPECT_TRUE(Check({0xf3, 0xa6})) << "repe cmpsb rcx " << n;
        EXPECT_TRUE(Check({0xf2, 0xa6})) << "repne cmpsb rcx " << n;
        EXPECT_TRUE(Check({0xf3, 0x66, 0xa7})) << "repe cmpsw rcx " << n;
        in_->regs[HR_RAX] = '!';
        EXPECT_TRUE(Check({0xf2, 0xae})) << "repne scasb rcx " << n;
        in_->regs[HR_RAX] = 'h';
        EXPECT_TRUE(Check({0xf3, 0xae})) << "repe scasb rcx " << n;
        in_->rflags |= HARNESS_DF;
        in_->regs[HR_RDI] = HARNESS_DATA_ADDR + 0x200 + sizeof(b) - 1;
        EXPECT_TRUE(Check({0xf2, 0xae})) << "std; repne scasb rcx " << n;
        in_->regs[HR_RDI] = HARNESS_DATA_ADDR + 0x200;
    }
    EXPECT_EQ(native_->status, HARNESS_DONE);
}

// A REP run that walks off the end of the mapped memory faults at the first unmapped element, with
// RCX/RSI/RDI describing exactly the work left and everything before it done.
TEST_P(CtlStringTest, FaultInTheMiddleOfARun)
{
    const uint64_t end = HARNESS_MEM_ADDR + HARNESS_MEM_SIZE;
    struct {
        std::vector<uint8_t> code;
        uint64_t rsi, rdi, rcx;
    } cases[] = {
        {{0xf3, 0xa4}, end - 0x100, HARNESS_DATA_ADDR, 0x300},             // rep movsb: the source runs out
        {{0xf3, 0xa4}, HARNESS_DATA_ADDR, end - 0x81, 0x300},              // the destination runs out
        {{0xf3, 0x48, 0xa5}, end - 0x104, HARNESS_DATA_ADDR, 0x100},      // rep movsq straddling the end
        {{0xf3, 0xaa}, 0, end - 0x1001, 0x2000},                           // rep stosb over a page and more
        {{0xf3, 0xa6}, end - 0x40, end - 0x40, 0x100},                     // repe cmpsb (equal bytes)
        {{0xf2, 0xae}, 0, end - 0x30, 0x100},                              // repne scasb: no match
        {{0xf3, 0xac}, end - 0x20, 0, 0x100},                              // rep lodsb
    };
    memset(harness_data(in_.get()), 0, HARNESS_MEM_SIZE);
    // The flags in the signal frame differ by vendor for CMPS/SCAS (string-helpers.c): start from two
    // different sets, both unlike those of the compares.
    const uint64_t flags_in[] = {0, HARNESS_CF | HARNESS_PF | HARNESS_SF | HARNESS_OF};
    for (uint64_t flags : flags_in) {
        for (const auto &c : cases) {
            in_->regs[HR_RSI] = c.rsi;
            in_->regs[HR_RDI] = c.rdi;
            in_->regs[HR_RCX] = c.rcx;
            in_->regs[HR_RAX] = 0x4141414141414141ULL;
            in_->rflags = flags;
            EXPECT_TRUE(Check(c.code)) << "rflags in " << flags;
            EXPECT_EQ(native_->status, HARNESS_SIGNAL);
            EXPECT_EQ(native_->signo, SIGSEGV);
        }
    }
}

// MOVSD and CMPSD share their mnemonics with SSE2: one row each, dispatching on the encoding.
TEST_P(CtlStringTest, MovsdCmpsdStringForms)
{
    for (int i = 0; i < 64; i++) harness_data(in_.get())[i] = static_cast<uint8_t>(i);
    in_->regs[HR_RSI] = HARNESS_DATA_ADDR;
    in_->regs[HR_RDI] = HARNESS_DATA_ADDR + 0x20;
    in_->regs[HR_RCX] = 4;
    EXPECT_TRUE(Check({0xa5}));          // movsd (string)
    EXPECT_TRUE(Check({0xf3, 0xa5}));    // rep movsd
    EXPECT_TRUE(Check({0xa7}));          // cmpsd (string)
    EXPECT_TRUE(Check({0xf3, 0xa7}));    // repe cmpsd
    // ... and the SSE2 forms still reach the vector family.
    in_->ymm[0].f[0] = 1.5;
    in_->ymm[0].q[1] = 0x1122334455667788ULL;
    in_->ymm[1].f[0] = -2.25;
    in_->ymm[1].q[1] = 0x99aabbccddeeff00ULL;
    EXPECT_TRUE(Check({0xf2, 0x0f, 0x10, 0xc1}));          // movsd xmm0, xmm1
    EXPECT_TRUE(Check({0xf2, 0x0f, 0x10, 0x06}));          // movsd xmm0, [rsi]
    EXPECT_TRUE(Check({0xf2, 0x0f, 0x11, 0x0f}));          // movsd [rdi], xmm1
    EXPECT_TRUE(Check({0xf2, 0x0f, 0xc2, 0xc1, 0x01}));    // cmpltsd xmm0, xmm1
    EXPECT_TRUE(Check({0xf2, 0x0f, 0xc2, 0x06, 0x04}));    // cmpneqsd xmm0, [rsi]
}

// A string instruction inside a block: the flags and registers flow on to the following instructions.
TEST_P(CtlStringTest, StringThenBranch)
{
    const char a[] = "abcdefgh";
    memcpy(harness_data(in_.get()), a, sizeof(a));
    memcpy(harness_data(in_.get()) + 0x40, a, sizeof(a));
    harness_data(in_.get())[0x45] = 'X';
    in_->regs[HR_RSI] = HARNESS_DATA_ADDR;
    in_->regs[HR_RDI] = HARNESS_DATA_ADDR + 0x40;
    in_->regs[HR_RCX] = 8;
    // repe cmpsb; jnz +2; push 1; push 2
    EXPECT_TRUE(Check({0xf3, 0xa6, 0x75, 0x02, 0x6a, 0x01, 0x6a, 0x02}));
    harness_data(in_.get())[0x45] = 'f';
    in_->regs[HR_RSI] = HARNESS_DATA_ADDR;
    EXPECT_TRUE(Check({0xf3, 0xa6, 0x75, 0x02, 0x6a, 0x01, 0x6a, 0x02}));
}

INSTANTIATE_TEST_SUITE_P(Backends, CtlStringTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
