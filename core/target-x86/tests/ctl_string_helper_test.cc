// The REP string helpers alone, against a plain element-by-element model of the architecture: large
// counts that cross many pages, every overlap distance near the element size, both directions, the
// 32-bit address size wrapping, and an FS override (which the native harness cannot set up).
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

// cpu.h is C11; its _Static_assert is C++'s static_assert.
#define _Static_assert static_assert
extern "C" {
#include "core/target-x86/cpu.h"
#include "core/target-x86/string-desc.h"
void helper_rep_movs(CPUX86State *env, uint32_t desc);
void helper_rep_stos(CPUX86State *env, uint32_t desc);
void helper_rep_cmps(CPUX86State *env, uint32_t desc);
void helper_rep_scas(CPUX86State *env, uint32_t desc);
}

namespace {

constexpr size_t kBuf = 1 << 20;

struct Env {
    Env()
    {
        size_t size = (sizeof(CPUX86State) + 63) & ~size_t{63};
        env = static_cast<CPUX86State *>(aligned_alloc(64, size));
        memset(env, 0, size);
        env->df = 1;
    }
    ~Env() { free(env); }
    CPUX86State *env;
};

// The model: REP MOVS one element at a time, exactly as the manual's pseudo-code reads.
void ModelMovs(uint8_t *mem, uint64_t &rsi, uint64_t &rdi, uint64_t &rcx, unsigned esz, int df)
{
    uint8_t tmp[8];
    for (; rcx; rcx--) {
        memcpy(tmp, mem + rsi, esz);
        memcpy(mem + rdi, tmp, esz);
        rsi += df * static_cast<int64_t>(esz);
        rdi += df * static_cast<int64_t>(esz);
    }
}

TEST(CtlStringHelper, MovsMatchesTheElementModel)
{
    std::mt19937_64 rng(42);
    std::vector<uint8_t> a(kBuf), b(kBuf);
    Env e;
    int ran = 0;
    for (int iter = 0; iter < 400; iter++) {
        for (size_t i = 0; i < kBuf; i++) a[i] = static_cast<uint8_t>(rng());
        b = a;
        unsigned shift = rng() % 4, esz = 1u << shift;
        int df = rng() % 2 ? 1 : -1;
        uint64_t count = rng() % 4 == 0 ? rng() % 70000 / esz : rng() % 300;
        uint64_t span = count * esz + 64;
        uint64_t base = df > 0 ? 64 : span;
        uint64_t rsi = base + rng() % 4096;
        // Mostly near overlaps, in both directions, at every small distance.
        int64_t delta = rng() % 3 == 0 ? static_cast<int64_t>(rng() % 200000) - 100000
                                       : static_cast<int64_t>(rng() % 41) - 20;
        int64_t sdi = static_cast<int64_t>(rsi) + delta;
        if (sdi < static_cast<int64_t>(span) || sdi + static_cast<int64_t>(span) > static_cast<int64_t>(kBuf) ||
            rsi + span > kBuf) {
            continue;
        }
        uint64_t rdi = static_cast<uint64_t>(sdi);
        ran++;

        uint64_t mr = rsi, md = rdi, mc = count;
        ModelMovs(b.data(), mr, md, mc, esz, df);

        uint64_t host = reinterpret_cast<uint64_t>(a.data());
        e.env->df = df;
        e.env->regs[R_ESI] = host + rsi;
        e.env->regs[R_EDI] = host + rdi;
        e.env->regs[R_ECX] = count;
        helper_rep_movs(e.env, shift | (R_DS << STR_SEG_SHIFT));
        ASSERT_EQ(e.env->regs[R_ECX], 0u);
        ASSERT_EQ(e.env->regs[R_ESI], host + mr) << "iter " << iter;
        ASSERT_EQ(e.env->regs[R_EDI], host + md);
        ASSERT_TRUE(a == b) << "iter " << iter << " size " << esz << " df " << df << " count " << count
                            << " delta " << delta;
    }
    EXPECT_GT(ran, 200);   // most layouts fit the buffer
}

TEST(CtlStringHelper, StosFillsEveryElement)
{
    std::vector<uint8_t> a(kBuf, 0xee);
    Env e;
    uint64_t host = reinterpret_cast<uint64_t>(a.data());
    for (unsigned shift = 0; shift < 4; shift++) {
        for (int df : {1, -1}) {
            std::fill(a.begin(), a.end(), 0xee);
            uint64_t count = 100003 >> shift;
            uint64_t start = df > 0 ? 1001 : kBuf - 2003;
            e.env->df = df;
            e.env->regs[R_EDI] = host + start;
            e.env->regs[R_ECX] = count;
            e.env->regs[R_EAX] = 0x8877665544332211ULL;
            helper_rep_stos(e.env, shift);
            uint64_t esz = 1u << shift;
            uint64_t lo = df > 0 ? start : start - (count - 1) * esz;
            for (uint64_t i = 0; i < count * esz; i++) {
                ASSERT_EQ(a[lo + i], static_cast<uint8_t>(0x8877665544332211ULL >> (8 * (i % esz)))) << i;
            }
            EXPECT_EQ(a[lo - 1], 0xee);
            EXPECT_EQ(a[lo + count * esz], 0xee);
            EXPECT_EQ(e.env->regs[R_EDI], host + start + df * static_cast<int64_t>(count * esz));
        }
    }
}

// With FS as the source segment, [RSI] is FS.base + RSI; ES:[RDI] takes no base.
TEST(CtlStringHelper, FsOverrideOnTheSource)
{
    std::vector<uint8_t> src(256), dst(256, 0);
    for (int i = 0; i < 256; i++) src[i] = static_cast<uint8_t>(i ^ 0x5a);
    Env e;
    e.env->seg_base[R_FS] = reinterpret_cast<uint64_t>(src.data()) - 0x1000;
    e.env->regs[R_ESI] = 0x1000 + 16;
    e.env->regs[R_EDI] = reinterpret_cast<uint64_t>(dst.data());
    e.env->regs[R_ECX] = 100;
    helper_rep_movs(e.env, 0 | (R_FS << STR_SEG_SHIFT));
    EXPECT_EQ(memcmp(dst.data(), src.data() + 16, 100), 0);
    EXPECT_EQ(e.env->regs[R_ESI], 0x1000u + 16 + 100);
    // CMPS with an FS source: equal run, then a difference at element 7.
    memcpy(dst.data(), src.data() + 16, 100);
    dst[7] ^= 1;
    e.env->regs[R_ESI] = 0x1000 + 16;
    e.env->regs[R_EDI] = reinterpret_cast<uint64_t>(dst.data());
    e.env->regs[R_ECX] = 100;
    helper_rep_cmps(e.env, 0 | (R_FS << STR_SEG_SHIFT));
    EXPECT_EQ(e.env->regs[R_ECX], 100u - 8);
}

// A 32-bit address size: ESI/EDI/ECX without their upper halves, which are cleared when written back.
TEST(CtlStringHelper, AddressSize32)
{
    void *low = mmap(reinterpret_cast<void *>(0x30000000), 8192, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (low != reinterpret_cast<void *>(0x30000000)) GTEST_SKIP() << "no memory below 4 GiB";
    uint8_t *p = static_cast<uint8_t *>(low);
    Env e;
    e.env->regs[R_EDI] = 0xdead00000000ULL | 0x30000010;
    e.env->regs[R_ECX] = 0x123400000005ULL;
    e.env->regs[R_EAX] = 0x77;
    helper_rep_stos(e.env, STR_A32);
    EXPECT_EQ(e.env->regs[R_EDI], 0x30000015u);
    EXPECT_EQ(e.env->regs[R_ECX], 0u);
    EXPECT_EQ(p[0x10], 0x77);
    EXPECT_EQ(p[0x14], 0x77);
    EXPECT_EQ(p[0x15], 0);
    // MOVSD across the page boundary, going down, with garbage above ESI and EDI.
    for (int i = 0; i < 8192; i++) p[i] = static_cast<uint8_t>(i);
    e.env->df = -1;
    e.env->regs[R_ESI] = 0xffff000000000000ULL | 0x30001008;
    e.env->regs[R_EDI] = 0x0000111100000000ULL | 0x30001808;
    e.env->regs[R_ECX] = 0xffffffff00000010ULL;
    helper_rep_movs(e.env, 2 | STR_A32);
    EXPECT_EQ(e.env->regs[R_ESI], 0x30001008u - 64);
    EXPECT_EQ(e.env->regs[R_EDI], 0x30001808u - 64);
    EXPECT_EQ(e.env->regs[R_ECX], 0u);
    for (int i = 0; i < 64; i++) EXPECT_EQ(p[0x1808 + 4 - 64 + i], static_cast<uint8_t>(0x1008 + 4 - 64 + i)) << i;
    munmap(low, 8192);
}

// REPNE SCASB (the memchr path) and REPE SCASB stop at the right byte and leave CMP's flags.
TEST(CtlStringHelper, ScasStopsAndSetsFlags)
{
    std::vector<uint8_t> buf(3 * 4096 + 100, 'a');
    buf[2 * 4096 + 7] = 'z';
    Env e;
    uint64_t host = reinterpret_cast<uint64_t>(buf.data());
    e.env->regs[R_EDI] = host + 5;
    e.env->regs[R_ECX] = buf.size() - 5;
    e.env->regs[R_EAX] = 'z';
    helper_rep_scas(e.env, STR_REPNE);
    EXPECT_EQ(e.env->regs[R_EDI], host + 2 * 4096 + 8);
    EXPECT_EQ(e.env->regs[R_ECX], buf.size() - 5 - (2 * 4096 + 3));
    EXPECT_EQ(x86_get_eflags(e.env) & X86_ZF, X86_ZF);
    e.env->regs[R_EDI] = host;
    e.env->regs[R_ECX] = buf.size();
    e.env->regs[R_EAX] = 'a';
    helper_rep_scas(e.env, 0);
    EXPECT_EQ(e.env->regs[R_EDI], host + 2 * 4096 + 8);
    EXPECT_EQ(x86_get_eflags(e.env) & (X86_ZF | X86_CF), X86_CF);   // 'a' - 'z' borrows
}

// A long REP run notices an exit request (a signal for the thread) and leaves for the loop part-way, with
// the registers describing the work left and RIP at the instruction, to run it again.
TEST(CtlStringHelper, LongRunLeavesOnExitRequest)
{
    std::vector<uint8_t> src(8 << 20, 1), dst(8 << 20, 0);
    Env e;
    uint64_t s = reinterpret_cast<uint64_t>(src.data()), d = reinterpret_cast<uint64_t>(dst.data());
    e.env->regs[R_ESI] = s;
    e.env->regs[R_EDI] = d;
    e.env->regs[R_ECX] = src.size();
    e.env->tcg.insn_pc = 0x401000;
    e.env->tcg.exit_request = 1;
    if (sigsetjmp(e.env->tcg.jmp_env, 1) == 0) {
        helper_rep_movs(e.env, 0);
        FAIL() << "the helper did not leave";
    }
    uint64_t moved = e.env->regs[R_ESI] - s;
    EXPECT_GT(moved, 0u);
    EXPECT_LT(moved, src.size());
    EXPECT_EQ(e.env->regs[R_EDI] - d, moved);
    EXPECT_EQ(e.env->regs[R_ECX], src.size() - moved);
    EXPECT_EQ(e.env->tcg.pc, 0x401000u);
    EXPECT_EQ(dst[moved - 1], 1);
    EXPECT_EQ(dst[moved], 0);
}

}  // namespace
