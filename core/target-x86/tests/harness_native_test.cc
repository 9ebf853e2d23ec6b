// The native runner is the oracle every other test trusts, so it is checked on its own here: against
// what inline assembly computes in this process, and against the architecture's documented results.
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/target-x86/tests/harness.h"

namespace {

struct Native {
    std::unique_ptr<HarnessState, decltype(&free)> in{static_cast<HarnessState *>(aligned_alloc(64, sizeof(HarnessState))),
                                                      &free};
    std::unique_ptr<HarnessResult, decltype(&free)> out{
        static_cast<HarnessResult *>(aligned_alloc(64, sizeof(HarnessResult))), &free};
    Native() { harness_state_init(in.get()); }
    int Run(const std::vector<uint8_t> &code) { return harness_run_native(code.data(), code.size(), in.get(), out.get()); }
};

uint64_t HostAddFlags(uint64_t a, uint64_t b, uint64_t *sum)
{
    uint64_t flags;
    asm("add %2, %0\n\tpushfq\n\tpopq %1" : "+r"(a), "=r"(flags) : "r"(b) : "cc");
    *sum = a;
    return flags;
}

TEST(HarnessNative, NopKeepsEveryRegister)
{
    Native n;
    for (int i = 0; i < 16; i++) {
        if (i != HR_RSP) n.in->regs[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
    }
    n.in->rflags = HARNESS_CF | HARNESS_ZF | HARNESS_OF;
    for (int i = 0; i < 16; i++) n.in->ymm[i].q[0] = n.in->ymm[i].q[3] = 0xabcdef00 + (uint64_t)i;
    ASSERT_EQ(n.Run({0x90}), 0) << n.out->error;
    ASSERT_EQ(n.out->status, HARNESS_DONE) << n.out->error;
    EXPECT_EQ(n.out->rip, HARNESS_CODE_ADDR + 1);
    for (int i = 0; i < 16; i++) EXPECT_EQ(n.out->state.regs[i], n.in->regs[i]) << "register " << i;
    EXPECT_EQ(n.out->state.rflags & HARNESS_ALL_FLAGS, n.in->rflags);
    size_t width = harness_host_has_avx() ? 32 : 16;
    for (int i = 0; i < 16; i++) EXPECT_EQ(memcmp(n.out->state.ymm[i].b, n.in->ymm[i].b, width), 0) << "ymm" << i;
    EXPECT_EQ(n.out->state.fx.mxcsr, 0x1f80u);
    EXPECT_EQ(n.out->state.fx.fcw, 0x37f);
}

TEST(HarnessNative, MovImmediate)
{
    Native n;
    ASSERT_EQ(n.Run({0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}), 0);  // mov rax, 0x1122334455667788
    ASSERT_EQ(n.out->status, HARNESS_DONE);
    EXPECT_EQ(n.out->state.regs[HR_RAX], 0x1122334455667788ULL);
}

TEST(HarnessNative, AddFlagsMatchInlineAsm)
{
    const uint64_t cases[][2] = {{1, 2}, {~0ULL, 1}, {0x7fffffffffffffffULL, 1}, {0x8000000000000000ULL, 0x8000000000000000ULL},
                                 {0x0f, 0x01}, {0, 0}};
    Native n;
    for (const auto &c : cases) {
        n.in->regs[HR_RAX] = c[0];
        n.in->regs[HR_RBX] = c[1];
        n.in->rflags = HARNESS_ARITH_FLAGS;  // all set before: the add must define every one
        ASSERT_EQ(n.Run({0x48, 0x01, 0xd8}), 0);  // add rax, rbx
        ASSERT_EQ(n.out->status, HARNESS_DONE);
        uint64_t sum;
        uint64_t flags = HostAddFlags(c[0], c[1], &sum);
        EXPECT_EQ(n.out->state.regs[HR_RAX], sum);
        EXPECT_EQ(n.out->state.rflags & HARNESS_ARITH_FLAGS, flags & HARNESS_ARITH_FLAGS) << c[0] << " + " << c[1];
    }
}

TEST(HarnessNative, DirectionFlagInAndOut)
{
    Native n;
    ASSERT_EQ(n.Run({0xfd}), 0);  // std
    EXPECT_TRUE(n.out->state.rflags & HARNESS_DF);
    n.in->rflags = HARNESS_DF;
    ASSERT_EQ(n.Run({0xfc}), 0);  // cld
    EXPECT_FALSE(n.out->state.rflags & HARNESS_DF);
}

TEST(HarnessNative, PushPopUseTheStateStack)
{
    Native n;
    n.in->regs[HR_RAX] = 0x0123456789abcdefULL;
    ASSERT_EQ(n.Run({0x50, 0x5b}), 0);  // push rax; pop rbx
    ASSERT_EQ(n.out->status, HARNESS_DONE);
    EXPECT_EQ(n.out->state.regs[HR_RBX], 0x0123456789abcdefULL);
    EXPECT_EQ(n.out->state.regs[HR_RSP], HARNESS_STACK_TOP);
    uint64_t pushed;
    memcpy(&pushed, n.out->state.mem + (HARNESS_STACK_TOP - 8 - HARNESS_MEM_ADDR), 8);
    EXPECT_EQ(pushed, 0x0123456789abcdefULL);
}

TEST(HarnessNative, StoreAndLoadTheDataBuffer)
{
    Native n;
    n.in->regs[HR_RDI] = HARNESS_DATA_ADDR + 0x100;
    n.in->regs[HR_RAX] = 0xfeedfacecafebeefULL;
    memcpy(harness_data(n.in.get()) + 0x200, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    // mov [rdi], rax; mov rcx, [rdi+0x100]
    ASSERT_EQ(n.Run({0x48, 0x89, 0x07, 0x48, 0x8b, 0x8f, 0x00, 0x01, 0x00, 0x00}), 0);
    ASSERT_EQ(n.out->status, HARNESS_DONE);
    uint64_t stored;
    memcpy(&stored, harness_data(&n.out->state) + 0x100, 8);
    EXPECT_EQ(stored, 0xfeedfacecafebeefULL);
    EXPECT_EQ(n.out->state.regs[HR_RCX], 0x8877665544332211ULL);
}

TEST(HarnessNative, VectorAndMxcsr)
{
    Native n;
    n.in->ymm[1].d[0] = 5;
    n.in->ymm[2].d[0] = 7;
    n.in->fx.mxcsr = 0x1f80 | 0x6000;  // round toward zero
    ASSERT_EQ(n.Run({0x66, 0x0f, 0xfe, 0xca}), 0);  // paddd xmm1, xmm2
    ASSERT_EQ(n.out->status, HARNESS_DONE);
    EXPECT_EQ(n.out->state.ymm[1].d[0], 12u);
    EXPECT_EQ(n.out->state.fx.mxcsr, 0x7f80u);
    if (harness_host_has_avx()) {
        n.in->ymm[3].q[3] = 0x5555;
        ASSERT_EQ(n.Run({0xc5, 0xfd, 0x6f, 0xe3}), 0);  // vmovdqa ymm4, ymm3
        EXPECT_EQ(n.out->state.ymm[4].q[3], 0x5555u);
    }
}

TEST(HarnessNative, X87)
{
    Native n;
    n.in->regs[HR_RDI] = HARNESS_DATA_ADDR;
    ASSERT_EQ(n.Run({0xd9, 0xe8, 0xd9, 0xe8, 0xde, 0xc1, 0xdd, 0x17}), 0);  // fld1; fld1; faddp; fst qword [rdi]
    ASSERT_EQ(n.out->status, HARNESS_DONE);
    double d;
    memcpy(&d, harness_data(&n.out->state), 8);
    EXPECT_EQ(d, 2.0);
    EXPECT_EQ((n.out->state.fx.fsw >> 11) & 7, 7);  // TOP after one net push
    EXPECT_EQ(n.out->state.fx.ftw, 0x80);            // physical register 7 valid
    EXPECT_EQ(n.out->state.fx.st[0][7], 0x80);       // 2.0: mantissa 0x8000000000000000
    EXPECT_EQ(n.out->state.fx.st[0][8], 0x00);       // exponent 0x4000
    EXPECT_EQ(n.out->state.fx.st[0][9], 0x40);
}

TEST(HarnessNative, Int3IsSigtrapAfterTheInstruction)
{
    Native n;
    n.in->regs[HR_RAX] = 42;
    ASSERT_EQ(n.Run({0x90, 0xcc, 0x90}), 0);
    ASSERT_EQ(n.out->status, HARNESS_SIGNAL);
    EXPECT_EQ(n.out->signo, SIGTRAP);
    EXPECT_EQ(n.out->vector, 3);
    EXPECT_EQ(n.out->rip, HARNESS_CODE_ADDR + 2);
    EXPECT_EQ(n.out->state.regs[HR_RAX], 42u);
}

TEST(HarnessNative, Ud2IsSigill)
{
    Native n;
    ASSERT_EQ(n.Run({0x0f, 0x0b}), 0);
    ASSERT_EQ(n.out->status, HARNESS_SIGNAL);
    EXPECT_EQ(n.out->signo, SIGILL);
    EXPECT_EQ(n.out->vector, 6);
    EXPECT_EQ(n.out->rip, HARNESS_CODE_ADDR);
}

TEST(HarnessNative, DivideByZeroIsSigfpeWithStateBeforeIt)
{
    Native n;
    n.in->regs[HR_RAX] = 100;
    n.in->regs[HR_RCX] = 0;
    n.in->ymm[5].q[0] = 0x77;
    n.in->ymm[6].q[3] = 0x66;  // an upper half: read back from the signal frame's XSAVE area
    n.in->fx.st[2][0] = 0x55;  // an x87 register: from the frame's FXSAVE image
    ASSERT_EQ(n.Run({0x48, 0xff, 0xc0, 0x48, 0xf7, 0xf1}), 0);  // inc rax; div rcx
    ASSERT_EQ(n.out->status, HARNESS_SIGNAL);
    EXPECT_EQ(n.out->signo, SIGFPE);
    EXPECT_EQ(n.out->vector, 0);
    EXPECT_EQ(n.out->rip, HARNESS_CODE_ADDR + 3);
    EXPECT_EQ(n.out->state.regs[HR_RAX], 101u);
    EXPECT_EQ(n.out->state.ymm[5].q[0], 0x77u);
    if (harness_host_has_avx()) {
        EXPECT_EQ(n.out->state.ymm[6].q[3], 0x66u);
    }
    EXPECT_EQ(n.out->state.fx.st[2][0], 0x55);
    EXPECT_EQ(n.out->state.rflags & HARNESS_ARITH_FLAGS, (uint64_t)HARNESS_PF);  // inc 100 -> 101: even parity
}

TEST(HarnessNative, PageFaultReportsTheAddress)
{
    Native n;
    n.in->regs[HR_RBX] = HARNESS_MEM_ADDR + HARNESS_MEM_SIZE + 0x10;  // just past the mapped region
    ASSERT_EQ(n.Run({0x48, 0x8b, 0x03}), 0);                            // mov rax, [rbx]
    ASSERT_EQ(n.out->status, HARNESS_SIGNAL);
    EXPECT_EQ(n.out->signo, SIGSEGV);
    EXPECT_EQ(n.out->vector, 14);
    EXPECT_EQ(n.out->fault_addr, HARNESS_MEM_ADDR + HARNESS_MEM_SIZE + 0x10);
    EXPECT_EQ(n.out->rip, HARNESS_CODE_ADDR);
}

TEST(HarnessNative, NonCanonicalAddressIsGeneralProtection)
{
    Native n;
    n.in->regs[HR_RBX] = 0x8000000000000000ULL;
    ASSERT_EQ(n.Run({0x48, 0x8b, 0x03}), 0);  // mov rax, [rbx]
    ASSERT_EQ(n.out->status, HARNESS_SIGNAL);
    EXPECT_EQ(n.out->signo, SIGSEGV);
    EXPECT_EQ(n.out->vector, 13);
    EXPECT_EQ(n.out->fault_addr, 0u);
}

TEST(HarnessNative, EndlessLoopTimesOut)
{
    Native n;
    harness_set_time_limit(1);
    ASSERT_EQ(n.Run({0xeb, 0xfe}), 0);  // jmp $
    harness_set_time_limit(5);
    EXPECT_EQ(n.out->status, HARNESS_TIMEOUT);
}

TEST(HarnessNative, RejectsBadInput)
{
    Native n;
    n.in->fx.mxcsr = 0x10000;
    EXPECT_LT(n.Run({0x90}), 0);
    EXPECT_EQ(n.out->status, HARNESS_ERROR);
}

TEST(HarnessEncode, EmitsAtTheCodeAddress)
{
    HarnessCode code = {};
    EXPECT_EQ(harness_emit(&code, ZYDIS_MNEMONIC_ADD, 2, harness_reg(ZYDIS_REGISTER_RAX), harness_reg(ZYDIS_REGISTER_RBX)),
              3u);
    EXPECT_EQ(harness_emit(&code, ZYDIS_MNEMONIC_MOV, 2, harness_mem(4, ZYDIS_REGISTER_RDI, ZYDIS_REGISTER_NONE, 0, 8),
                           harness_imm(7)),
              7u);
    // jmp to the instruction after itself: a rel8 of 0
    EXPECT_EQ(harness_emit(&code, ZYDIS_MNEMONIC_JMP, 1, harness_imm((int64_t)(HARNESS_CODE_ADDR + code.len + 2))), 2u);
    ASSERT_FALSE(code.failed);
    const uint8_t want[] = {0x48, 0x01, 0xd8, 0xc7, 0x47, 0x08, 0x07, 0x00, 0x00, 0x00, 0xeb, 0x00};
    ASSERT_EQ(code.len, sizeof(want));
    EXPECT_EQ(memcmp(code.bytes, want, sizeof(want)), 0);

    // LEA: the memory operand's size does not matter (the encoder wants the address size).
    HarnessCode lea = {};
    EXPECT_EQ(harness_emit(&lea, ZYDIS_MNEMONIC_LEA, 2, harness_reg(ZYDIS_REGISTER_EAX),
                           harness_mem(4, ZYDIS_REGISTER_RBX, ZYDIS_REGISTER_RCX, 4, -9)),
              4u);
    EXPECT_EQ(memcmp(lea.bytes, "\x8d\x44\x8b\xf7", 4), 0);

    ZydisEncoderRequest req = {};
    req.mnemonic = ZYDIS_MNEMONIC_NOP;
    uint8_t buf[16];
    EXPECT_EQ(harness_encode(&req, buf, sizeof(buf)), 1u);
    EXPECT_EQ(buf[0], 0x90);
    EXPECT_EQ(harness_emit(&code, ZYDIS_MNEMONIC_ADD, 1, harness_reg(ZYDIS_REGISTER_RAX)), 0u);
    EXPECT_TRUE(code.failed);
}

TEST(HarnessRandom, SeedsReplay)
{
    HarnessRng a = {42}, b = {42}, c = {43};
    EXPECT_EQ(harness_rng_next(&a), harness_rng_next(&b));
    EXPECT_NE(harness_rng_next(&a), harness_rng_next(&c));
    auto s = static_cast<HarnessState *>(aligned_alloc(64, sizeof(HarnessState)));
    HarnessRng r = {7};
    harness_state_random(s, &r);
    EXPECT_EQ(s->regs[HR_RSP], HARNESS_STACK_TOP);
    EXPECT_EQ(s->rflags & ~(uint64_t)HARNESS_ARITH_FLAGS, 0u);
    EXPECT_EQ(s->fx.mxcsr, 0x1f80u);
    harness_point_at_data(s, &r, (1u << HR_RSI) | (1u << HR_R9));
    for (int reg : {HR_RSI, HR_R9}) {
        EXPECT_GE(s->regs[reg], HARNESS_DATA_ADDR + 0x800);
        EXPECT_LT(s->regs[reg], HARNESS_DATA_ADDR + HARNESS_DATA_SIZE - 0x800);
    }
    free(s);
}

// The comparison itself: two native runs of different code must be reported as different, with the
// register named; the same code run twice must compare equal.
TEST(HarnessCompare, FindsAndPrintsADifference)
{
    Native a, b;
    a.in->regs[HR_RAX] = 1;
    memcpy(b.in.get(), a.in.get(), sizeof(HarnessState));
    const std::vector<uint8_t> inc = {0x48, 0xff, 0xc0}, dec = {0x48, 0xff, 0xc8};
    ASSERT_EQ(a.Run(inc), 0);
    ASSERT_EQ(b.Run(inc), 0);
    HarnessCase c = {};
    c.code = inc.data();
    c.len = inc.size();
    EXPECT_TRUE(harness_compare(&c, a.in.get(), a.out.get(), b.out.get(), nullptr));
    ASSERT_EQ(b.Run(dec), 0);
    EXPECT_FALSE(harness_compare(&c, a.in.get(), a.out.get(), b.out.get(), nullptr));

    char *text = nullptr;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    EXPECT_FALSE(harness_compare(&c, a.in.get(), a.out.get(), b.out.get(), f));
    fclose(f);
    std::string report(text, size);
    free(text);
    EXPECT_NE(report.find("inc rax"), std::string::npos) << report;
    EXPECT_NE(report.find("rax        native 0x0000000000000002  emulated 0x0000000000000000"), std::string::npos)
        << report;
    EXPECT_NE(report.find("rflags"), std::string::npos) << report;  // ZF differs too
    // Flags outside the mask are not compared.
    c.flags_mask = HARNESS_CF;
    c.ignore_regs = 1u << HR_RAX;
    EXPECT_TRUE(harness_compare(&c, a.in.get(), a.out.get(), b.out.get(), nullptr));
}

}  // namespace
