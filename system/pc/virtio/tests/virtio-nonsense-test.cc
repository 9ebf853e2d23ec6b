// A guest driver that breaks the rules: every case must leave the device in DEVICE_NEEDS_RESET, touch
// nothing outside guest RAM, keep the process alive, and work again after a reset.
#include "system/pc/virtio/tests/virtio-driver.h"

namespace {

class NonsenseTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        tm.m.log_mask = MACHINE_LOG_GUEST_ERRORS;   // the complaints show in the test log
        bus = pci_host_create(&tm.m);
        GError *err = nullptr;
        ASSERT_TRUE(virtio_rng_create(&tm.m, bus, &err));
        drv = new VirtioDriver(tm, 0x1044);
        ASSERT_TRUE(drv->found());
        ASSERT_TRUE(drv->Init(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC, 1, 16));
        buf = drv->Alloc(64);
    }
    void TearDown() override { delete drv; }

    bool Broken() { return drv->Status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET; }
    // After a reset the device must serve a sane request again.
    void ExpectRecovers()
    {
        ASSERT_TRUE(drv->Init(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC, 1, 16));
        EXPECT_FALSE(Broken());
        uint16_t before = drv->UsedIdx(0);
        drv->Submit(0, { { buf, 16, true } });
        EXPECT_TRUE(drv->WaitUsed(0, (uint16_t)(before + 1)));
    }

    TestMachine tm;
    PciBus *bus = nullptr;
    VirtioDriver *drv = nullptr;
    uint64_t buf = 0;
};

TEST_F(NonsenseTest, SaneRequestWorks)
{
    drv->Submit(0, { { buf, 16, true } });
    EXPECT_TRUE(drv->WaitUsed(0, 1));
    EXPECT_FALSE(Broken());
}

TEST_F(NonsenseTest, BufferOutsideRam)
{
    unsigned msis = test_msi_count;
    drv->Submit(0, { { tm.m.ram_size - 8, 16, true } });   // straddles the end of RAM
    EXPECT_TRUE(Broken());
    EXPECT_EQ(drv->UsedIdx(0), 0);
    // The driver hears about it: a configuration-change interrupt on vector 0 (data 0x40).
    ASSERT_GT(test_msi_count, msis);
    EXPECT_EQ(test_msi_data[(test_msi_count - 1) % TEST_MSI_MAX], 0x40u);
    // Broken: further notifications do nothing.
    drv->Submit(0, { { buf, 16, true } });
    EXPECT_EQ(drv->UsedIdx(0), 0);
    ExpectRecovers();
}

TEST_F(NonsenseTest, AddressInThePciHole)
{
    drv->Submit(0, { { PC_PCI_MMIO_BASE, 16, true } });
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, HugeLength)
{
    drv->Submit(0, { { 0x1000, 0xFFFFFFFF, true } });
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, DescriptorLoop)
{
    drv->SetDesc(0, 0, buf, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    drv->SetDesc(0, 1, buf + 8, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
    drv->Offer(0, 0);
    EXPECT_TRUE(Broken());
    EXPECT_EQ(drv->UsedIdx(0), 0);
    ExpectRecovers();
}

TEST_F(NonsenseTest, SelfLoop)
{
    drv->SetDesc(0, 3, buf, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
    drv->Offer(0, 3);
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, NextBeyondTheTable)
{
    drv->SetDesc(0, 0, buf, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 16);
    drv->Offer(0, 0);
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, HeadBeyondTheTable)
{
    drv->Offer(0, 200);
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, AvailIndexRunsAhead)
{
    drv->Put<uint16_t>(drv->queues[0].avail + 2, 1000);
    drv->Kick(0);
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, IndirectLoopAndNesting)
{
    uint64_t table = drv->Alloc(32, 16);
    drv->Put<uint64_t>(table, buf);
    drv->Put<uint32_t>(table + 8, 8);
    drv->Put<uint16_t>(table + 12, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
    drv->Put<uint16_t>(table + 14, 1);
    drv->Put<uint64_t>(table + 16, buf);
    drv->Put<uint32_t>(table + 24, 8);
    drv->Put<uint16_t>(table + 28, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
    drv->Put<uint16_t>(table + 30, 0);
    drv->SetDesc(0, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
    drv->Offer(0, 0);
    EXPECT_TRUE(Broken());
    ExpectRecovers();
    // An indirect descriptor inside an indirect table.
    drv->Put<uint64_t>(table, table);
    drv->Put<uint32_t>(table + 8, 32);
    drv->Put<uint16_t>(table + 12, VIRTQ_DESC_F_INDIRECT);
    drv->SetDesc(0, 5, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
    drv->Offer(0, 5);
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, IndirectChainLongerThanTheQueue)
{
    // An indirect table longer than the queue (16) is tolerated up to 1024 descriptors (Linux sizes its
    // tables by seg_max, not by a ring it may have shrunk); 1025 break the device (a table filling RAM would
    // otherwise make the device build an iovec array as large).
    for (unsigned n : { 1024u, 1025u }) {
        uint64_t table = drv->Alloc(16ull * n, 16);
        uint64_t data = drv->Alloc(n, 1);
        for (unsigned i = 0; i < n; i++) {
            bool more = i + 1 < n;
            drv->Put<uint64_t>(table + 16 * i, data + i);
            drv->Put<uint32_t>(table + 16 * i + 8, 1);
            drv->Put<uint16_t>(table + 16 * i + 12,
                               (uint16_t)(VIRTQ_DESC_F_WRITE | (more ? VIRTQ_DESC_F_NEXT : 0)));
            drv->Put<uint16_t>(table + 16 * i + 14, (uint16_t)(i + 1));
        }
        uint16_t before = drv->UsedIdx(0);
        drv->SetDesc(0, 0, table, 16 * n, VIRTQ_DESC_F_INDIRECT, 0);
        drv->Offer(0, 0);
        if (n == 1024) {
            EXPECT_TRUE(drv->WaitUsed(0, (uint16_t)(before + 1)));
            EXPECT_FALSE(Broken());
        } else {
            EXPECT_TRUE(Broken());
        }
    }
    ExpectRecovers();
}

TEST_F(NonsenseTest, IndirectTableOutsideRam)
{
    drv->SetDesc(0, 0, tm.m.ram_size - 16, 0x1000, VIRTQ_DESC_F_INDIRECT, 0);
    drv->Offer(0, 0);
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, NotifyForQueueThatDoesNotExist)
{
    tm.wr(drv->notify + 9 * drv->notify_mult, 9, 2);
    EXPECT_TRUE(Broken());
    ExpectRecovers();
}

TEST_F(NonsenseTest, InvalidQueueSizes)
{
    for (uint32_t size : { 0u, 3u, 100u, 1024u, 65535u }) {
        drv->SetCommon(VIRTIO_COMMON_STATUS, 0, 1);
        drv->SetCommon(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
        drv->SetCommon(VIRTIO_COMMON_Q_SELECT, 0, 2);
        drv->SetCommon(VIRTIO_COMMON_Q_SIZE, size, 2);
        EXPECT_TRUE(Broken()) << "queue size " << size;
    }
    ExpectRecovers();
}

TEST_F(NonsenseTest, RingsOutsideRamAtEnable)
{
    drv->SetCommon(VIRTIO_COMMON_STATUS, 0, 1);
    drv->SetCommon(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
    drv->SetCommon(VIRTIO_COMMON_Q_SELECT, 0, 2);
    drv->SetCommon(VIRTIO_COMMON_Q_DESCLO, (uint32_t)(tm.m.ram_size - 64), 4);
    drv->SetCommon(VIRTIO_COMMON_Q_ENABLE, 1, 2);
    EXPECT_TRUE(Broken());
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_Q_ENABLE, 2), 0u);
    ExpectRecovers();
}

TEST_F(NonsenseTest, GarbageRegisterAccessesAreHarmless)
{
    // Reads and writes all over the BAR, at every size: nothing crashes; unknown offsets read 0.
    uint64_t bar = drv->BarAddr(VIRTIO_PCI_BAR);
    for (uint64_t off = VIRTIO_COMMON_SIZE; off < VIRTIO_PCI_BAR_SIZE; off += 0x3F) {
        for (unsigned size : { 1u, 2u, 4u, 8u }) {
            tm.rd(bar + off, size);
        }
    }
    for (uint64_t off = VIRTIO_PCI_ISR_OFFSET; off < VIRTIO_PCI_NOTIFY_OFFSET; off += 0x3F) {
        tm.wr(bar + off, 0xFFFFFFFF, 4);
    }
    EXPECT_EQ(tm.rd(bar + 0x40, 4), 0u);
    EXPECT_FALSE(Broken());
    // MSI-X vectors beyond the table read back as NO_VECTOR.
    drv->SetCommon(VIRTIO_COMMON_MSIX, 77, 2);
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_MSIX, 2), 0xFFFFu);
}

}  // namespace
