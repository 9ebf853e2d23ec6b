// virtio-rng returns host entropy into the guest's buffers.
#include "system/pc/virtio/tests/virtio-driver.h"

#include <set>

namespace {

TEST(Rng, FillsBuffers)
{
    TestMachine tm;
    PciBus *bus = pci_host_create(&tm.m);
    GError *err = nullptr;
    ASSERT_TRUE(virtio_rng_create(&tm.m, bus, &err));
    VirtioDriver drv(tm, 0x1044);
    ASSERT_TRUE(drv.found());
    EXPECT_EQ(tm.cfg_read(drv.slot(), PCI_CLASS_DEVICE, 2), 0xFF00u);
    EXPECT_EQ(drv.caps_seen & (1u << VIRTIO_PCI_CAP_DEVICE_CFG), 0u);   // no device configuration
    ASSERT_TRUE(drv.Init(1ull << VIRTIO_F_VERSION_1, 1, 16));
    uint64_t a = drv.Alloc(64), b = drv.Alloc(64);
    drv.Submit(0, { { a, 64, true } });
    drv.Submit(0, { { b, 64, true } });
    ASSERT_TRUE(drv.WaitUsed(0, 2));
    EXPECT_EQ(drv.Used(0, 0).second, 64u);
    EXPECT_EQ(drv.Used(0, 1).second, 64u);
    // 64 random bytes: not all zero, many distinct values, and the two buffers differ.
    std::set<uint8_t> distinct(drv.Ram(a), drv.Ram(a) + 64);
    EXPECT_GT(distinct.size(), 20u);
    EXPECT_NE(memcmp(drv.Ram(a), drv.Ram(b), 64), 0);
    // A chain of several writable buffers is filled throughout.
    uint64_t c = drv.Alloc(32), d = drv.Alloc(32);
    drv.Submit(0, { { c, 32, true }, { d, 32, true } });
    ASSERT_TRUE(drv.WaitUsed(0, 3));
    EXPECT_EQ(drv.Used(0, 2).second, 64u);
    std::set<uint8_t> tail(drv.Ram(d), drv.Ram(d) + 32);
    EXPECT_GT(tail.size(), 8u);
}

TEST(Rng, NoInterruptFlagSuppressesTheMsi)
{
    TestMachine tm;
    PciBus *bus = pci_host_create(&tm.m);
    ASSERT_TRUE(virtio_rng_create(&tm.m, bus, nullptr));
    VirtioDriver drv(tm, 0x1044);
    ASSERT_TRUE(drv.Init(1ull << VIRTIO_F_VERSION_1, 1, 16));
    uint64_t a = drv.Alloc(16);
    unsigned msis = test_msi_count;
    drv.Put<uint16_t>(drv.queues[0].avail, VIRTQ_AVAIL_F_NO_INTERRUPT);
    drv.Submit(0, { { a, 16, true } });
    ASSERT_TRUE(drv.WaitUsed(0, 1));
    EXPECT_EQ(test_msi_count, msis);
    drv.Put<uint16_t>(drv.queues[0].avail, 0);
    drv.Submit(0, { { a, 16, true } });
    ASSERT_TRUE(drv.WaitUsed(0, 2));
    ASSERT_EQ(test_msi_count, msis + 1);
    EXPECT_EQ(test_msi_data[msis % TEST_MSI_MAX], 0x41u);   // queue 0's vector is 1
}

}  // namespace
