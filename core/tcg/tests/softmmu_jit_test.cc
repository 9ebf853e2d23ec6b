// Guest memory through a real soft-MMU (core/tcg/softmmu.c) with a fake page walk: what generated code
// gets for TLB hits, misses, page-crossing accesses, MMIO pages and pages holding translated code, and the
// state a fault leaves. On the JIT these exercise the inline TLB lookup and its out-of-line slow path
// (jit-softmmu.c); on the interpreter, the C paths. Both must give the same values; the JIT must also
// skip the call on a hit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "core/tcg/tests/fake-target.h"

extern "C" {
#include "core/tcg/softmmu.h"
}

namespace {

constexpr uint64_t kPage = SOFTMMU_PAGE_SIZE;
constexpr uint64_t kMmioPhys = 15 * kPage;   // the last physical page is MMIO

struct World {
    std::map<uint64_t, uint64_t> map;   // virtual page -> physical page (read/write)
    std::vector<uint8_t> ram = std::vector<uint8_t>(16 * kPage);
    SoftMMU *mmu = nullptr;
    int calls = 0;                      // accesses that reached TCGCPU.mem (the slow path on the JIT)
    int io_reads = 0, io_writes = 0;
    uint64_t io_last = 0;
};
World *w;

bool Walk(TCGCPU *cpu, uint64_t vaddr, SoftMMUAccess, int, bool probe, uint64_t *paddr, int *prot)
{
    auto it = w->map.find(vaddr & SOFTMMU_PAGE_MASK);
    if (it == w->map.end()) {
        if (probe) {
            return false;
        }
        tcg_cpu_loop_exit(cpu, TCG_EXIT_EXCEPTION);   // the "page fault"
    }
    *paddr = it->second | (vaddr & ~SOFTMMU_PAGE_MASK);
    *prot = SOFTMMU_PROT_READ | SOFTMMU_PROT_WRITE | SOFTMMU_PROT_EXEC;
    return true;
}
int Index(TCGCPU *) { return 0; }
void *RamPage(void *, uint64_t paddr) { return paddr >= kMmioPhys ? nullptr : w->ram.data() + paddr; }
uint64_t IoRead(void *, uint64_t paddr, unsigned size)
{
    w->io_reads++;
    w->io_last = paddr;
    return 0xf0f1f2f3f4f5f6f7ull >> (64 - 8 * size);
}
void IoWrite(void *, uint64_t paddr, uint64_t value, unsigned)
{
    w->io_writes++;
    w->io_last = paddr ^ value;
}
const SoftMMUTarget kTarget = {Walk, Index};
const SoftMMUPhys kPhys = {RamPage, IoRead, IoWrite, nullptr};

uint64_t Load(TCGCPU *cpu, uint64_t addr, TCGMemOp mo)
{
    w->calls++;
    return softmmu_ld(w->mmu, cpu, addr, mo, 0);
}
void Store(TCGCPU *cpu, uint64_t addr, uint64_t v, TCGMemOp mo)
{
    w->calls++;
    softmmu_st(w->mmu, cpu, addr, v, mo, 0);
}
void Load128(TCGCPU *cpu, uint64_t addr, void *dst)
{
    w->calls++;
    softmmu_read(w->mmu, cpu, addr, dst, 16, SOFTMMU_READ, 0);
}
void Store128(TCGCPU *cpu, uint64_t addr, const void *src)
{
    w->calls++;
    softmmu_write(w->mmu, cpu, addr, src, 16, 0);
}
const TCGMemOps kOps = {Load, Store, Load128, Store128};

bool OnJit()
{
    const char *b = getenv("EMBER_TEST_BACKEND");
    return b && strcmp(b, "jit") == 0;
}

class SoftMmuJit : public ::testing::Test {
protected:
    void SetUp() override
    {
        w = &world;
        world.mmu = new SoftMMU;
        softmmu_init(world.mmu, &kTarget, &kPhys);
        cpu = fake_cpu_new();
        cpu->tcg.mem = &kOps;
        softmmu_bind(world.mmu, &cpu->tcg, 0);
        world.map[0x10000] = 3 * kPage;
        world.map[0x11000] = 1 * kPage;   // not physically after 0x10000's page
        world.map[0x20000] = kMmioPhys;
        for (size_t i = 0; i < world.ram.size(); i++) {
            world.ram[i] = (uint8_t)(i * 7 + 1);
        }
    }
    void TearDown() override
    {
        fake_cpu_free(cpu);
        softmmu_destroy(world.mmu);
        delete world.mmu;
    }
    uint64_t Ram(uint64_t paddr, int n)
    {
        uint64_t v = 0;
        memcpy(&v, &world.ram[paddr], n);
        return v;
    }
    World world;
    FakeCPU *cpu;
};

TEST_F(SoftMmuJit, LoadsOfEveryMemOpHitAfterTheFirstMiss)
{
    const TCGMemOp mos[] = {MO_8, MO_S8, MO_16, MO_S16, MO_32, MO_S32, MO_64};
    for (TCGMemOp mo : mos) {
        for (int t = 0; t < 2; t++) {
            softmmu_flush(world.mmu);
            world.calls = 0;
            world.ram[3 * kPage + 0x123 + (1 << (mo & MO_SIZE)) - 1] = 0x80;   // the sign bit of the value
            cpu->r[0] = 0x10123;
            fake_run_ir(
                cpu,
                [&](TCGContext *s) {
                    tcg_gen_guest_ld(s, (TCGType)t, mo, fake_r[1], fake_r[0]);
                    tcg_gen_guest_ld(s, (TCGType)t, mo, fake_r[2], fake_r[0]);
                    tcg_gen_exit_tb(s, TCG_EXIT_HALT);
                },
                true);
            unsigned bits = 8u << (mo & MO_SIZE);
            uint64_t v = Ram(3 * kPage + 0x123, 1 << (mo & MO_SIZE));
            if ((mo & MO_SIGN) && bits < 64) {
                v = (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits));
            }
            if (t == 0) {
                v = (uint32_t)v;
            }
            EXPECT_EQ(cpu->r[1], v) << "mo " << mo << " type " << t << " (after a miss)";
            EXPECT_EQ(cpu->r[2], v) << "mo " << mo << " type " << t << " (a hit)";
            EXPECT_EQ(world.calls, OnJit() ? 1 : 2) << "mo " << mo;
        }
    }
}

// base + constant: the JIT folds the constant into the access (and into the slow path's address).
TEST_F(SoftMmuJit, AFoldedDisplacementAddressesTheSameBytesOnBothPaths)
{
    cpu->r[0] = 0x10100;
    cpu->r[1] = 0xa5a5;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            for (int i = 0; i < 2; i++) {
                TCGTemp a = tcg_temp_new(s);
                tcg_gen_add(s, TCG_I64, a, fake_r[0], tcg_const(s, 0x23));
                tcg_gen_guest_ld(s, TCG_I64, MO_32, fake_r[2 + i], a);
            }
            TCGTemp a = tcg_temp_new(s);
            tcg_gen_add(s, TCG_I64, a, fake_r[0], tcg_const(s, 0xefe));   // crosses into 0x11000
            tcg_gen_guest_st(s, MO_32, fake_r[1], a);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true);
    EXPECT_EQ(cpu->r[2], Ram(3 * kPage + 0x123, 4));
    EXPECT_EQ(cpu->r[3], Ram(3 * kPage + 0x123, 4));
    EXPECT_EQ(Ram(3 * kPage + 0xffe, 2), 0xa5a5u);
    EXPECT_EQ(Ram(1 * kPage, 2), 0u);
    EXPECT_EQ(world.calls, OnJit() ? 2 : 3);
}

TEST_F(SoftMmuJit, StoresReachTheMappedPageAndHitAfterTheFirstMiss)
{
    cpu->r[0] = 0x10ff0;
    cpu->r[1] = 0x1122334455667788ull;
    cpu->r[2] = 0x10ff8;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            tcg_gen_guest_st(s, MO_64, fake_r[1], fake_r[0]);
            tcg_gen_guest_st(s, MO_16, fake_r[1], fake_r[2]);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true);
    EXPECT_EQ(Ram(3 * kPage + 0xff0, 8), 0x1122334455667788ull);
    EXPECT_EQ(Ram(3 * kPage + 0xff8, 2), 0x7788u);
    EXPECT_EQ(world.calls, OnJit() ? 1 : 2);
}

TEST_F(SoftMmuJit, APageCrossingAccessIsSplitOverBothPhysicalPages)
{
    // Fill both pages' TLB entries first, so that only the crossing itself can send it to the slow path.
    cpu->r[0] = 0x10ffc;
    cpu->r[3] = 0x10000;
    cpu->r[4] = 0x11000;
    cpu->r[5] = 0x0807060504030201ull;
    cpu->r[7] = 0x10ffe;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            tcg_gen_guest_ld(s, TCG_I64, MO_8, fake_r[6], fake_r[3]);
            tcg_gen_guest_ld(s, TCG_I64, MO_8, fake_r[6], fake_r[4]);
            tcg_gen_guest_st(s, MO_64, fake_r[5], fake_r[0]);
            tcg_gen_guest_ld(s, TCG_I64, MO_32, fake_r[1], fake_r[7]);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true);
    EXPECT_EQ(Ram(3 * kPage + 0xffc, 4), 0x04030201u);
    EXPECT_EQ(Ram(1 * kPage, 4), 0x08070605u);
    EXPECT_EQ(cpu->r[1], 0x06050403u);
    EXPECT_EQ(world.calls, 4);
}

TEST_F(SoftMmuJit, MmioPagesAlwaysCallTheMachine)
{
    cpu->r[0] = 0x20010;
    cpu->r[1] = 0x55;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            for (int i = 0; i < 2; i++) {
                tcg_gen_guest_ld(s, TCG_I64, MO_16, fake_r[2 + i], fake_r[0]);
                tcg_gen_guest_st(s, MO_8, fake_r[1], fake_r[0]);
            }
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true);
    EXPECT_EQ(cpu->r[2], 0xf0f1u);
    EXPECT_EQ(cpu->r[3], 0xf0f1u);
    EXPECT_EQ(world.io_reads, 2);
    EXPECT_EQ(world.io_writes, 2);
    EXPECT_EQ(world.io_last, (kMmioPhys + 0x10) ^ 0x55);
    EXPECT_EQ(world.calls, 4);
}

TEST_F(SoftMmuJit, StoresToAPageWithCodeTakeTheSlowPathUntilTheCodeIsGone)
{
    cpu->r[0] = 0x10100;
    cpu->r[1] = 0xab;
    auto store_twice = [&](TCGContext *s) {
        tcg_gen_guest_st(s, MO_8, fake_r[1], fake_r[0]);
        tcg_gen_guest_st(s, MO_8, fake_r[1], fake_r[0]);
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    };
    fake_run_ir(cpu, store_twice, true);   // the write tag is in the TLB now
    EXPECT_EQ(world.calls, OnJit() ? 1 : 2);
    // The page gets translated code: the entry already in the TLB must stop giving stores a fast path.
    softmmu_code_page_set(3 * kPage, true);
    world.calls = 0;
    cpu->r[1] = 0xcd;
    fake_run_ir(cpu, store_twice, true);
    EXPECT_EQ(world.calls, 2);
    EXPECT_EQ(world.ram[3 * kPage + 0x100], 0xcd);
    softmmu_code_page_set(3 * kPage, false);
    world.calls = 0;
    cpu->r[1] = 0xef;
    fake_run_ir(cpu, store_twice, true);   // the first store finds no code and clears the flag
    EXPECT_EQ(world.calls, OnJit() ? 1 : 2);
    EXPECT_EQ(world.ram[3 * kPage + 0x100], 0xef);
}

TEST_F(SoftMmuJit, SixteenByteAccessesMoveTheCpuStateBytes)
{
    cpu->r[0] = 0x10200;
    cpu->r[1] = 0x10ff8;   // crosses into 0x11000
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            tcg_gen_guest_ld128(s, FAKE_OFF(scratch), fake_r[0]);
            tcg_gen_guest_st128(s, FAKE_OFF(scratch), fake_r[1]);
            tcg_gen_guest_ld128(s, FAKE_OFF(scratch) + 16, fake_r[0]);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true);
    EXPECT_EQ(cpu->scratch[0], Ram(3 * kPage + 0x200, 8));
    EXPECT_EQ(cpu->scratch[2], Ram(3 * kPage + 0x200, 8));
    EXPECT_EQ(cpu->scratch[3], Ram(3 * kPage + 0x208, 8));
    EXPECT_EQ(Ram(3 * kPage + 0xff8, 8), cpu->scratch[0]);
    EXPECT_EQ(Ram(1 * kPage, 8), cpu->scratch[1]);
    EXPECT_EQ(world.calls, OnJit() ? 2 : 3);
}

// A fault in the slow path finds the guest registers as they were before the access: values computed
// earlier in the block (held only in host registers on the JIT) are in the state, the destination is not.
TEST_F(SoftMmuJit, AFaultingAccessSeesTheStateBeforeIt)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 0x1000));   // r0: 0x10000 -> 0x11000
        tcg_gen_guest_ld(s, TCG_I64, MO_32, fake_r[1], fake_r[0]);             // a hit
        tcg_gen_add(s, TCG_I64, fake_r[2], fake_r[1], fake_r[0]);
        tcg_gen_guest_ld(s, TCG_I64, MO_64, fake_r[2], fake_r[3]);             // faults: r3 unmapped
        tcg_gen_movi(s, TCG_I64, fake_r[4], 99);
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    });
    cpu->r[0] = 0x10000;
    cpu->r[1] = 1;
    cpu->r[3] = 0x90000;
    cpu->r[4] = 4;
    // Warm the TLB for 0x11000 so the first load is a hit.
    softmmu_ld(world.mmu, &cpu->tcg, 0x11000, MO_8, 0);
    cpu->tcg.pc = 0x1000;
    TCGExitReason why = tcg_cpu_exec(&cpu->tcg);
    EXPECT_EQ(why, TCG_EXIT_EXCEPTION);
    EXPECT_EQ(cpu->r[0], 0x11000u);
    EXPECT_EQ(cpu->r[1], Ram(1 * kPage, 4));
    EXPECT_EQ(cpu->r[2], Ram(1 * kPage, 4) + 0x11000);
    EXPECT_EQ(cpu->r[4], 4u);
    EXPECT_EQ(cpu->tcg.insn_pc, 0x1000u);
    fake_reset();
}

// goto_ptr on the JIT looks the next block up in the soft-MMU's jump cache inline; it must still find the
// right block after the key's flags change, after the block is invalidated, and after a TLB flush.
TEST_F(SoftMmuJit, IndirectJumpsGoThroughTheJumpCache)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 1));
        tcg_gen_mov(s, TCG_I64, fake_pc, fake_r[1]);
        tcg_gen_goto_ptr(s);
    });
    auto second = [](uint64_t step) {
        return [step](TCGContext *s) {
            int done = tcg_label_new(s);
            tcg_gen_add(s, TCG_I64, fake_r[2], fake_r[2], tcg_const(s, step));
            tcg_gen_brcond(s, TCG_I64, TCG_COND_GEU, fake_r[2], fake_r[3], done);
            tcg_gen_movi(s, TCG_I64, fake_pc, 0x1000);
            tcg_gen_goto_ptr(s);
            tcg_gen_set_label(s, done);
            tcg_gen_movi(s, TCG_I64, fake_pc, 0x3000);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        };
    };
    fake_set_block(0x2000, second(1));
    auto run = [&](uint32_t flags) {
        cpu->key_flags = flags;
        cpu->r[0] = cpu->r[2] = 0;
        cpu->r[1] = 0x2000;
        cpu->r[3] = 5;
        cpu->tcg.pc = 0x1000;
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
        EXPECT_EQ(cpu->tcg.pc, 0x3000u);
    };
    SoftMMUTable *t = static_cast<SoftMMUTable *>(cpu->tcg.mem_tlb);
    const SoftMMUJmp &slot = t->jmp[softmmu_jmp_index(0x2000)];
    run(0);
    EXPECT_EQ(cpu->r[0], 5u);
    EXPECT_EQ(cpu->r[2], 5u);
    if (OnJit()) {
        EXPECT_EQ(slot.pc, 0x2000u);
        EXPECT_EQ(t->jmp_flags, 0u);
    }
    // Other flags: other blocks (the fake key includes them); the cache starts again under the new flags.
    int translated = fake_translations;
    run(7);
    EXPECT_EQ(cpu->r[0], 5u);
    EXPECT_EQ(fake_translations, translated + 2);
    if (OnJit()) {
        EXPECT_EQ(t->jmp_flags, 7u);
        EXPECT_EQ(slot.pc, 0x2000u);
    }
    // New code at 0x2000: the cached block is invalid now and must not run again.
    fake_set_block(0x2000, second(2));
    tb_invalidate_page(0x2000);
    run(7);
    EXPECT_EQ(cpu->r[0], 3u);
    EXPECT_EQ(cpu->r[2], 6u);
    // A TLB flush empties the cache; a one-page flush, the entries of that page.
    softmmu_flush(world.mmu);
    EXPECT_NE(slot.pc, 0x2000u);
    run(7);
    if (OnJit()) {
        EXPECT_EQ(slot.pc, 0x2000u);
    }
    softmmu_jmp_flush_page(world.mmu, 0x2000);
    EXPECT_NE(slot.pc, 0x2000u);
    run(7);
    EXPECT_EQ(cpu->r[2], 6u);
    fake_reset();
}

}  // namespace
