// virtio-blk through the PCI transport: the test is the guest driver (virtio-driver.h) and checks the
// results in guest RAM and in the image file.
#include "system/pc/virtio/tests/virtio-driver.h"

#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <string>

namespace {

constexpr uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4, kTypeGetId = 8, kTypeDiscard = 11;
constexpr uint64_t kFeatures = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC |
                               1ull << 2 /* SEG_MAX */ | 1ull << 5 /* RO */ | 1ull << 6 /* BLK_SIZE */ |
                               1ull << 9 /* FLUSH */;

// A 1 MiB image whose sector n is filled with byte n.
std::string MakeImage()
{
    char path[] = "/tmp/ember-blk-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    std::vector<uint8_t> data(1 << 20);
    for (size_t i = 0; i < data.size(); i++) {
        data[i] = (uint8_t)(i / 512);
    }
    EXPECT_EQ(write(fd, data.data(), data.size()), (ssize_t)data.size());
    close(fd);
    return path;
}

class BlkTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        image = MakeImage();
        bus = pci_host_create(&tm.m);
        GError *err = nullptr;
        ASSERT_TRUE(virtio_blk_create(&tm.m, bus, "disk0", image.c_str(), readonly, &err)) << err->message;
        drv = new VirtioDriver(tm, 0x1042);
        ASSERT_TRUE(drv->found());
    }
    void TearDown() override
    {
        delete drv;
        unlink(image.c_str());
    }

    // One request: header, data (in or out), status. Returns the status byte; *used_len the used length.
    uint8_t Request(uint32_t type, uint64_t sector, uint64_t data, uint32_t len, bool data_in,
                    uint32_t *used_len = nullptr, bool indirect = false)
    {
        uint64_t hdr = drv->Alloc(16), status = drv->Alloc(1);
        drv->Put<uint32_t>(hdr, type);
        drv->Put<uint32_t>(hdr + 4, 0);
        drv->Put<uint64_t>(hdr + 8, sector);
        drv->Put<uint8_t>(status, 0xEE);
        std::vector<Buf> bufs = { { hdr, 16, false } };
        if (len) {
            bufs.push_back({ data, len, data_in });
        }
        bufs.push_back({ status, 1, true });
        uint16_t before = drv->UsedIdx(0);
        uint16_t head = indirect ? drv->SubmitIndirect(0, bufs) : drv->Submit(0, bufs);
        EXPECT_TRUE(drv->WaitUsed(0, (uint16_t)(before + 1))) << "request never completed";
        auto used = drv->Used(0, before);
        EXPECT_EQ(used.first, head);
        if (used_len) {
            *used_len = used.second;
        }
        return drv->Get<uint8_t>(status);
    }

    std::string ReadImage(uint64_t off, size_t len)
    {
        std::string s(len, '\0');
        int fd = open(image.c_str(), O_RDONLY);
        EXPECT_EQ(pread(fd, &s[0], len, (off_t)off), (ssize_t)len);
        close(fd);
        return s;
    }

    TestMachine tm;
    PciBus *bus = nullptr;
    VirtioDriver *drv = nullptr;
    std::string image;
    bool readonly = false;
};

TEST_F(BlkTest, IdentityCapabilitiesAndConfig)
{
    int s = drv->slot();
    EXPECT_EQ(tm.cfg_read(s, PCI_REVISION_ID, 1), 1u);            // modern-only: revision >= 1
    EXPECT_EQ(tm.cfg_read(s, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1AF4u);
    EXPECT_EQ(tm.cfg_read(s, PCI_CLASS_DEVICE, 2), 0x0180u);
    // Common, notify, ISR and device configuration all found, and MSI-X.
    EXPECT_EQ(drv->caps_seen & 0x3E, 0x3Eu);
    EXPECT_NE(drv->msix_cap, 0u);
    EXPECT_EQ(drv->notify_mult, (uint32_t)VIRTIO_PCI_NOTIFY_MULTIPLIER);
    uint64_t f = drv->DeviceFeatures();
    EXPECT_TRUE(f >> VIRTIO_F_VERSION_1 & 1);
    EXPECT_TRUE(f >> 9 & 1);     // FLUSH
    EXPECT_TRUE(f >> 2 & 1);     // SEG_MAX
    EXPECT_FALSE(f >> 5 & 1);    // not read-only
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_NUMQ, 2), 1u);
    EXPECT_EQ(drv->Config(0, 4), 2048u);   // capacity in sectors
    EXPECT_EQ(drv->Config(4, 4), 0u);
    EXPECT_EQ(drv->Config(12, 4), 254u);   // seg_max
    // Queue 0 offers 256 entries; a queue that does not exist reads size 0.
    drv->SetCommon(VIRTIO_COMMON_Q_SELECT, 0, 2);
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_Q_SIZE, 2), 256u);
    drv->SetCommon(VIRTIO_COMMON_Q_SELECT, 7, 2);
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_Q_SIZE, 2), 0u);
}

TEST_F(BlkTest, PciConfigAccessWindow)
{
    // The VIRTIO_PCI_CAP_PCI_CFG capability reaches BAR 4 through configuration space alone.
    unsigned cap = drv->pci_cfg_cap, s = drv->slot();
    ASSERT_NE(cap, 0u);
    EXPECT_EQ(tm.cfg_read(s, cap + 2, 1), 20u);
    tm.cfg_write(s, cap + 4, VIRTIO_PCI_BAR, 1);
    tm.cfg_write(s, cap + 8, VIRTIO_PCI_DEVICE_OFFSET, 4);
    tm.cfg_write(s, cap + 12, 4, 4);
    EXPECT_EQ(tm.cfg_read(s, cap + 16, 4), 2048u);   // capacity
    // A write through the window: select queue 7, then read queue_size (0: no such queue) and back.
    tm.cfg_write(s, cap + 8, VIRTIO_PCI_COMMON_OFFSET + VIRTIO_COMMON_Q_SELECT, 4);
    tm.cfg_write(s, cap + 12, 2, 4);
    tm.cfg_write(s, cap + 16, 7, 4);
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_Q_SELECT, 2), 7u);
    tm.cfg_write(s, cap + 8, VIRTIO_PCI_COMMON_OFFSET + VIRTIO_COMMON_Q_SIZE, 4);
    EXPECT_EQ(tm.cfg_read(s, cap + 16, 2), 0u);
    drv->SetCommon(VIRTIO_COMMON_Q_SELECT, 0, 2);
    EXPECT_EQ(tm.cfg_read(s, cap + 16, 2), 256u);
    // Misaligned or oversized windows do nothing.
    tm.cfg_write(s, cap + 8, VIRTIO_PCI_DEVICE_OFFSET + 1, 4);
    tm.cfg_write(s, cap + 12, 4, 4);
    tm.cfg_write(s, cap + 16, 0, 4);
    EXPECT_EQ(tm.cfg_read(s, cap + 16, 4), 0u);
    tm.cfg_write(s, cap + 8, 0xFFFFFFFC, 4);
    EXPECT_EQ(tm.cfg_read(s, cap + 16, 4), 0u);
}

TEST_F(BlkTest, FeatureNegotiationNeedsVersion1)
{
    EXPECT_FALSE(drv->Init(kFeatures & ~(1ull << VIRTIO_F_VERSION_1), 1, 128));
    EXPECT_TRUE(drv->Init(kFeatures, 1, 128));
    drv->SetCommon(VIRTIO_COMMON_GFSELECT, 0, 4);
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_GF, 4), (uint32_t)(kFeatures & ~(1ull << 5)));
}

TEST_F(BlkTest, ReadWriteFlushGetId)
{
    ASSERT_TRUE(drv->Init(kFeatures, 1, 128));
    unsigned msis = test_msi_count;
    // Read sectors 5 and 6.
    uint64_t buf = drv->Alloc(1024);
    uint32_t used_len = 0;
    EXPECT_EQ(Request(kTypeIn, 5, buf, 1024, true, &used_len), 0);
    EXPECT_EQ(used_len, 1025u);
    EXPECT_EQ(*drv->Ram(buf), 5);
    EXPECT_EQ(*drv->Ram(buf + 511), 5);
    EXPECT_EQ(*drv->Ram(buf + 512), 6);
    // The completion interrupted on the queue's MSI-X vector (1 → data 0x41).
    EXPECT_GT(test_msi_count, msis);
    EXPECT_EQ(test_msi_data[(test_msi_count - 1) % TEST_MSI_MAX], 0x41u);
    // Write sector 7 and find it in the file, neighbours untouched.
    uint64_t wbuf = drv->Alloc(512);
    memset(drv->Ram(wbuf), 0x5A, 512);
    EXPECT_EQ(Request(kTypeOut, 7, wbuf, 512, false, &used_len), 0);
    EXPECT_EQ(used_len, 1u);   // only the status byte is writable
    EXPECT_EQ(ReadImage(7 * 512, 512), std::string(512, '\x5A'));
    EXPECT_EQ(ReadImage(8 * 512, 1), std::string(1, '\x08'));
    EXPECT_EQ(ReadImage(6 * 512 + 511, 1), std::string(1, '\x06'));
    // Read it back through the device, via an indirect table this time.
    uint64_t rbuf = drv->Alloc(512);
    EXPECT_EQ(Request(kTypeIn, 7, rbuf, 512, true, nullptr, true), 0);
    EXPECT_EQ(*drv->Ram(rbuf + 100), 0x5A);
    EXPECT_EQ(Request(kTypeFlush, 0, 0, 0, false), 0);
    uint64_t id = drv->Alloc(20);
    EXPECT_EQ(Request(kTypeGetId, 0, id, 20, true, &used_len), 0);
    EXPECT_STREQ(reinterpret_cast<char *>(drv->Ram(id)), "disk0");
    EXPECT_EQ(used_len, 21u);
    // Unsupported and out-of-range requests fail cleanly.
    EXPECT_EQ(Request(kTypeDiscard, 0, 0, 0, false), 2);                  // UNSUPP
    EXPECT_EQ(Request(kTypeIn, 2048, buf, 512, true), 1);                 // beyond the end: IOERR
    EXPECT_EQ(Request(kTypeIn, 2047, buf, 1024, true), 1);                // straddles the end
    EXPECT_EQ(Request(kTypeIn, ~0ull / 256, buf, 512, true), 1);          // sector * 512 overflows
    EXPECT_EQ(drv->Status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
}

TEST_F(BlkTest, IntxAndIsrWithoutMsix)
{
    ASSERT_TRUE(drv->Init(kFeatures, 1, 64, /*msix=*/false));
    unsigned msis = test_msi_count;
    int gsi = tm.cfg_read(drv->slot(), PCI_INTERRUPT_LINE, 1);
    ASSERT_TRUE(gsi == 10 || gsi == 11);
    uint64_t buf = drv->Alloc(512);
    EXPECT_EQ(Request(kTypeIn, 1, buf, 512, true), 0);
    EXPECT_EQ(test_msi_count, msis);
    EXPECT_EQ(tm.gsi_level[gsi], 1);
    EXPECT_EQ(tm.rd(drv->isr, 1), 1u);      // queue interrupt; reading acknowledges
    EXPECT_EQ(tm.gsi_level[gsi], 0);
    EXPECT_EQ(tm.rd(drv->isr, 1), 0u);
}

TEST_F(BlkTest, ResetAndReinitialize)
{
    ASSERT_TRUE(drv->Init(kFeatures, 1, 64));
    uint64_t buf = drv->Alloc(512);
    EXPECT_EQ(Request(kTypeIn, 3, buf, 512, true), 0);
    drv->SetCommon(VIRTIO_COMMON_STATUS, 0, 1);
    EXPECT_EQ(drv->Status(), 0);
    drv->SetCommon(VIRTIO_COMMON_Q_SELECT, 0, 2);
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_Q_ENABLE, 2), 0u);
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_Q_SIZE, 2), 256u);
    ASSERT_TRUE(drv->Init(kFeatures, 1, 64));
    EXPECT_EQ(Request(kTypeIn, 4, buf, 512, true), 0);
    EXPECT_EQ(*drv->Ram(buf), 4);
}

TEST_F(BlkTest, ManyRequestsInFlightThenResetMidway)
{
    ASSERT_TRUE(drv->Init(kFeatures, 1, 128));
    // 40 reads offered at once, one notification: all complete, each with its own sector.
    std::map<uint16_t, std::pair<uint64_t, uint64_t>> by_head;   // head -> (buffer, status)
    for (int i = 0; i < 40; i++) {
        uint64_t hdr = drv->Alloc(16), data = drv->Alloc(512), status = drv->Alloc(1);
        drv->Put<uint32_t>(hdr, kTypeIn);
        drv->Put<uint64_t>(hdr + 8, (uint64_t)(100 + i));
        uint16_t head = drv->Submit(0, { { hdr, 16, false }, { data, 512, true }, { status, 1, true } },
                                    /*kick=*/i == 39);
        by_head[head] = { data, status };
        (void)head;
    }
    ASSERT_TRUE(drv->WaitUsed(0, 40));
    for (uint16_t n = 0; n < 40; n++) {
        auto used = drv->Used(0, n);
        ASSERT_TRUE(by_head.count((uint16_t)used.first));
        auto [data, status] = by_head[(uint16_t)used.first];
        EXPECT_EQ(drv->Get<uint8_t>(status), 0);
        EXPECT_EQ(used.second, 513u);
        // Sector 100 + i is filled with (100 + i) & 0xFF; the head was 3 * i.
        EXPECT_EQ(*drv->Ram(data + 7), (uint8_t)(100 + used.first / 3));
    }
    // Another batch, then a reset before the main loop runs the completions: none may be published.
    for (int i = 0; i < 10; i++) {
        uint64_t hdr = drv->Alloc(16), data = drv->Alloc(512), status = drv->Alloc(1);
        drv->Put<uint32_t>(hdr, kTypeIn);
        drv->Put<uint64_t>(hdr + 8, 1);
        drv->Submit(0, { { hdr, 16, false }, { data, 512, true }, { status, 1, true } });
    }
    drv->SetCommon(VIRTIO_COMMON_STATUS, 0, 1);
    tm.run_until([] { return false; }, 100);
    EXPECT_EQ(drv->UsedIdx(0), 40);
    ASSERT_TRUE(drv->Init(kFeatures, 1, 128));
    uint64_t buf = drv->Alloc(512);
    EXPECT_EQ(Request(kTypeIn, 2, buf, 512, true), 0);
    EXPECT_EQ(*drv->Ram(buf), 2);
}

class BlkReadonlyTest : public BlkTest {
protected:
    void SetUp() override
    {
        readonly = true;
        BlkTest::SetUp();
    }
};

TEST_F(BlkReadonlyTest, WritesFailWithIoerr)
{
    EXPECT_TRUE(drv->DeviceFeatures() >> 5 & 1);   // VIRTIO_BLK_F_RO
    ASSERT_TRUE(drv->Init(kFeatures, 1, 64));
    uint64_t wbuf = drv->Alloc(512);
    memset(drv->Ram(wbuf), 0x77, 512);
    EXPECT_EQ(Request(kTypeOut, 9, wbuf, 512, false), 1);   // VIRTIO_BLK_S_IOERR
    EXPECT_EQ(ReadImage(9 * 512, 512), std::string(512, '\x09'));
    uint64_t buf = drv->Alloc(512);
    EXPECT_EQ(Request(kTypeIn, 9, buf, 512, true), 0);      // reads still work
    EXPECT_EQ(*drv->Ram(buf), 9);
}

TEST(BlkOptions, BadImagesAreOneLineErrors)
{
    TestMachine tm;
    PciBus *bus = pci_host_create(&tm.m);
    GError *err = nullptr;
    EXPECT_FALSE(virtio_blk_create(&tm.m, bus, "d", "/nonexistent/disk.img", false, &err));
    ASSERT_NE(err, nullptr);
    EXPECT_NE(std::string(err->message).find("/nonexistent/disk.img"), std::string::npos) << err->message;
    EXPECT_NE(std::string(err->message).find("No such file"), std::string::npos) << err->message;
    EXPECT_EQ(std::string(err->message).find('\n'), std::string::npos);
    g_clear_error(&err);
    EXPECT_FALSE(virtio_blk_create(&tm.m, bus, "d", "/tmp", false, &err));
    ASSERT_NE(err, nullptr);
    g_clear_error(&err);
    // Nothing half-made was left on the bus.
    EXPECT_EQ(tm.cfg_read(1, 0, 4), 0xFFFFFFFFu);
}

TEST(BlkList, ReportsEveryDisk)
{
    TestMachine tm;
    PciBus *bus = pci_host_create(&tm.m);
    std::string image = MakeImage();
    GError *err = nullptr;
    ASSERT_TRUE(virtio_blk_create(&tm.m, bus, "listed", image.c_str(), true, &err));
    GPtrArray *list = virtio_blk_list();
    bool seen = false;
    for (guint i = 0; i < list->len; i++) {
        auto *info = static_cast<VirtioBlkInfo *>(g_ptr_array_index(list, i));
        if (std::string(info->id) == "listed") {
            seen = true;
            EXPECT_EQ(std::string(info->path), image);
            EXPECT_TRUE(info->readonly);
            EXPECT_EQ(info->size, 1u << 20);
        }
    }
    EXPECT_TRUE(seen);
    g_ptr_array_unref(list);
    virtio_blk_flush_all();
    unlink(image.c_str());
}

}  // namespace
