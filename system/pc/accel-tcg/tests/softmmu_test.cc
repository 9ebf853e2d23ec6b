// The soft-MMU (core/tcg/softmmu.c) with a fake page walk and a fake physical memory: TLB hits and
// refills, per-page flushes, rights, MMIO dispatch, page-crossing accesses, and the code-page bitmap.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

extern "C" {
#include "core/tcg/softmmu.h"
}

namespace {

struct Mapping {
    uint64_t ppage;
    int prot;
};

struct Fake {
    std::map<uint64_t, Mapping> pages;   // virtual page -> physical page
    int walks = 0;
    std::vector<uint8_t> ram = std::vector<uint8_t>(16 * 4096);
    uint64_t io_addr = 0, io_value = 0;
    unsigned io_size = 0;
    int io_reads = 0, io_writes = 0;
};

Fake *g_fake;

bool FakeWalk(TCGCPU *, uint64_t vaddr, SoftMMUAccess access, int, bool probe, uint64_t *paddr, int *prot)
{
    g_fake->walks++;
    auto it = g_fake->pages.find(vaddr & SOFTMMU_PAGE_MASK);
    int need = access == SOFTMMU_READ ? SOFTMMU_PROT_READ : access == SOFTMMU_WRITE ? SOFTMMU_PROT_WRITE
                                                                                     : SOFTMMU_PROT_EXEC;
    if (it == g_fake->pages.end() || !(it->second.prot & need)) {
        EXPECT_TRUE(probe) << "a faulting walk in these tests is always a probe";
        return false;
    }
    *paddr = it->second.ppage | (vaddr & ~SOFTMMU_PAGE_MASK);
    *prot = it->second.prot;
    return true;
}

int FakeIndex(TCGCPU *) { return 0; }

void *FakeRamPage(void *, uint64_t paddr)
{
    if (paddr >= 15 * 4096) {
        return nullptr;   // the last page is MMIO
    }
    return g_fake->ram.data() + paddr;
}

uint64_t FakeIoRead(void *, uint64_t paddr, unsigned size)
{
    g_fake->io_reads++;
    g_fake->io_addr = paddr;
    g_fake->io_size = size;
    return 0xabcd;
}

void FakeIoWrite(void *, uint64_t paddr, uint64_t value, unsigned size)
{
    g_fake->io_writes++;
    g_fake->io_addr = paddr;
    g_fake->io_value = value;
    g_fake->io_size = size;
}

const SoftMMUTarget kTarget = {FakeWalk, FakeIndex};
const SoftMMUPhys kPhys = {FakeRamPage, FakeIoRead, FakeIoWrite, nullptr};

class SoftMMUTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        g_fake = &fake;
        mmu = new SoftMMU;
        softmmu_init(mmu, &kTarget, &kPhys);
        const int rw = SOFTMMU_PROT_READ | SOFTMMU_PROT_WRITE;
        fake.pages[0x10000] = {0x3000, rw};
        fake.pages[0x11000] = {0x7000, rw};
        fake.pages[0x20000] = {0x4000, SOFTMMU_PROT_READ};
        fake.pages[0x30000] = {15 * 4096, rw};
    }
    void TearDown() override
    {
        softmmu_destroy(mmu);
        delete mmu;
    }
    Fake fake;
    SoftMMU *mmu;
    TCGCPU *cpu = nullptr;
};

TEST_F(SoftMMUTest, StoresAndLoadsGoToTheMappedHostPage)
{
    softmmu_st(mmu, cpu, 0x10010, 0x1122334455667788ull, MO_64, 0);
    uint64_t host;
    memcpy(&host, &fake.ram[0x3010], 8);
    EXPECT_EQ(host, 0x1122334455667788ull);
    EXPECT_EQ(softmmu_ld(mmu, cpu, 0x10010, MO_32, 0), 0x55667788u);
    EXPECT_EQ(softmmu_ld(mmu, cpu, 0x10017, MO_S8, 0), 0x11u);
    fake.ram[0x3020] = 0x80;
    EXPECT_EQ(softmmu_ld(mmu, cpu, 0x10020, MO_S8, 0), 0xffffffffffffff80ull);
}

TEST_F(SoftMMUTest, TheTlbCachesAWalkUntilThePageIsFlushed)
{
    softmmu_ld(mmu, cpu, 0x10000, MO_8, 0);
    int after_first = fake.walks;
    for (int i = 0; i < 10; i++) {
        softmmu_ld(mmu, cpu, 0x10000 + i * 8, MO_64, 0);
    }
    EXPECT_EQ(fake.walks, after_first);
    softmmu_flush_page(mmu, 0x10123);
    softmmu_ld(mmu, cpu, 0x10000, MO_8, 0);
    EXPECT_EQ(fake.walks, after_first + 1);
    // A remapped page is seen only after the flush.
    fake.pages[0x10000].ppage = 0x5000;
    fake.ram[0x5000] = 0x42;
    softmmu_flush(mmu);
    EXPECT_EQ(softmmu_ld(mmu, cpu, 0x10000, MO_8, 0), 0x42u);
}

TEST_F(SoftMMUTest, ARightNotGrantedIsAMissingTranslation)
{
    EXPECT_NE(softmmu_lookup(mmu, cpu, 0x20000, SOFTMMU_READ, 0, true), nullptr);
    EXPECT_EQ(softmmu_lookup(mmu, cpu, 0x20000, SOFTMMU_WRITE, 0, true), nullptr);
    EXPECT_EQ(softmmu_lookup(mmu, cpu, 0x20000, SOFTMMU_CODE, 0, true), nullptr);
    EXPECT_EQ(softmmu_lookup(mmu, cpu, 0x90000, SOFTMMU_READ, 0, true), nullptr);
    EXPECT_EQ(softmmu_host_ptr(mmu, cpu, 0x20000, 4, SOFTMMU_WRITE, 0, true), nullptr);
}

TEST_F(SoftMMUTest, MmioPagesCallTheMachineWithThePhysicalAddress)
{
    softmmu_st(mmu, cpu, 0x300f0, 0x1234, MO_16, 0);
    EXPECT_EQ(fake.io_writes, 1);
    EXPECT_EQ(fake.io_addr, 15u * 4096 + 0xf0);
    EXPECT_EQ(fake.io_value, 0x1234u);
    EXPECT_EQ(fake.io_size, 2u);
    EXPECT_EQ(softmmu_ld(mmu, cpu, 0x30008, MO_32, 0), 0xabcdu);
    EXPECT_EQ(fake.io_reads, 1);
    EXPECT_EQ(fake.io_addr, 15u * 4096 + 8);
    EXPECT_EQ(softmmu_host_ptr(mmu, cpu, 0x30000, 4, SOFTMMU_READ, 0, true), nullptr);
}

TEST_F(SoftMMUTest, PageCrossingAccessesAreSplitAcrossPhysicalPages)
{
    // 0x10ffc..0x11003: the low half on physical 0x3ffc, the high half on 0x7000.
    softmmu_st(mmu, cpu, 0x10ffc, 0x0807060504030201ull, MO_64, 0);
    EXPECT_EQ(fake.ram[0x3ffc], 1);
    EXPECT_EQ(fake.ram[0x3fff], 4);
    EXPECT_EQ(fake.ram[0x7000], 5);
    EXPECT_EQ(fake.ram[0x7003], 8);
    EXPECT_EQ(softmmu_ld(mmu, cpu, 0x10ffe, MO_32, 0), 0x06050403u);
    EXPECT_EQ(softmmu_host_ptr(mmu, cpu, 0x10ffc, 8, SOFTMMU_READ, 0, true), nullptr);
    EXPECT_EQ(softmmu_host_ptr(mmu, cpu, 0x10ff8, 8, SOFTMMU_READ, 0, true), &fake.ram[0x3ff8]);
}

TEST_F(SoftMMUTest, ACr3StyleFlushKeepsOnlyGlobalTranslations)
{
    const int rw = SOFTMMU_PROT_READ | SOFTMMU_PROT_WRITE;
    fake.pages[0x10000] = {0x3000, rw | SOFTMMU_PROT_GLOBAL};
    softmmu_ld(mmu, cpu, 0x10000, MO_8, 0);
    softmmu_ld(mmu, cpu, 0x11000, MO_8, 0);
    int walks = fake.walks;
    softmmu_flush_nonglobal(mmu);
    softmmu_ld(mmu, cpu, 0x10000, MO_8, 0);
    EXPECT_EQ(fake.walks, walks) << "a global page stays";
    softmmu_ld(mmu, cpu, 0x11000, MO_8, 0);
    EXPECT_EQ(fake.walks, walks + 1) << "the other one is walked again";
    softmmu_flush(mmu);
    softmmu_ld(mmu, cpu, 0x10000, MO_8, 0);
    EXPECT_EQ(fake.walks, walks + 2) << "a full flush drops global pages too";
}

TEST_F(SoftMMUTest, EntriesThatShareASlotStayAsVictims)
{
    // 0x10000 and 0x10000 + TLB size pages share a slot of the direct-mapped table.
    const uint64_t alias = 0x10000 + (uint64_t)SOFTMMU_TLB_SIZE * SOFTMMU_PAGE_SIZE;
    fake.pages[alias] = {0x5000, SOFTMMU_PROT_READ | SOFTMMU_PROT_WRITE};
    fake.ram[0x3000] = 0x11;
    fake.ram[0x5000] = 0x55;
    EXPECT_EQ(softmmu_ld(mmu, cpu, 0x10000, MO_8, 0), 0x11u);
    EXPECT_EQ(softmmu_ld(mmu, cpu, alias, MO_8, 0), 0x55u);
    int walks = fake.walks;
    for (int i = 0; i < 4; i++) {
        EXPECT_EQ(softmmu_ld(mmu, cpu, 0x10000, MO_8, 0), 0x11u);
        EXPECT_EQ(softmmu_ld(mmu, cpu, alias, MO_8, 0), 0x55u);
    }
    EXPECT_EQ(fake.walks, walks);
    softmmu_flush_page(mmu, alias);
    EXPECT_EQ(softmmu_ld(mmu, cpu, alias, MO_8, 0), 0x55u);
    EXPECT_EQ(fake.walks, walks + 1) << "a one-page flush reaches the victims too";
}

TEST_F(SoftMMUTest, AWriteTagOfAPageWithCodeNeverEqualsThePage)
{
    softmmu_st(mmu, cpu, 0x10010, 1, MO_8, 0);
    const SoftMMUEntry *e = softmmu_lookup(mmu, cpu, 0x10010, SOFTMMU_WRITE, 0, true);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->tag[SOFTMMU_WRITE], 0x10000u);
    softmmu_code_page_set(0x3000, true);   // translated code appears on the physical page
    EXPECT_NE(e->tag[SOFTMMU_WRITE], 0x10000u);
    EXPECT_EQ(e->tag[SOFTMMU_READ], 0x10000u);
    softmmu_code_page_set(0x3000, false);
    softmmu_st(mmu, cpu, 0x10010, 2, MO_8, 0);   // the slow path finds no code and clears the flag
    EXPECT_EQ(e->tag[SOFTMMU_WRITE], 0x10000u);
    EXPECT_EQ(fake.ram[0x3010], 2);
    // MMIO tags never equal a page either, so generated code always calls for them.
    softmmu_ld(mmu, cpu, 0x30000, MO_8, 0);
    e = softmmu_lookup(mmu, cpu, 0x30000, SOFTMMU_READ, 0, true);
    EXPECT_NE(e->tag[SOFTMMU_READ], 0x30000u);
    EXPECT_TRUE(softmmu_entry_io(mmu, e));
    EXPECT_EQ(softmmu_entry_paddr(mmu, e), 15u * 4096);
}

TEST(SoftMMUCodePages, TheBitmapRecordsPagesWithCode)
{
    EXPECT_FALSE(softmmu_code_page_test(0x123456000ull));
    softmmu_code_page_set(0x123456000ull, true);
    EXPECT_TRUE(softmmu_code_page_test(0x123456abcull));
    EXPECT_FALSE(softmmu_code_page_test(0x123457000ull));
    softmmu_code_page_set(0x123456000ull, false);
    EXPECT_FALSE(softmmu_code_page_test(0x123456000ull));
    // Beyond the bitmap's reach: never code.
    softmmu_code_page_set(1ull << 45, true);
    EXPECT_FALSE(softmmu_code_page_test(1ull << 45));
}

}  // namespace
