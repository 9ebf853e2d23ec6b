// The PCI host bridge and device core, driven through 0xCF8/0xCFC the way Linux's type-1 accessors and
// its BAR-sizing and capability-walking code do.
#include "system/pc/pci/tests/pci-test-util.h"

namespace {

// A test function: I/O BAR 0 (32 bytes), memory BAR 2 (4 KiB), 64-bit memory BAR 4 (16 KiB), MSI-X in BAR 1.
struct TestDev {
    PciDevice *d;
    uint64_t last_write_off = 0, last_write_val = 0;
};

uint64_t DevRead(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    (void)size;
    return 0xAB000000u | offset;
}
void DevWrite(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)size;
    auto *t = static_cast<TestDev *>(opaque);
    t->last_write_off = offset;
    t->last_write_val = value;
}
const IoOps dev_ops = { DevRead, DevWrite };

class PciTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        bus = pci_host_create(&tm.m);
        ASSERT_NE(bus, nullptr);
        dev.d = pci_device_new(bus, "test", 0x1234, 0x5678, 0x020000, 3);
        ASSERT_NE(dev.d, nullptr);
        ASSERT_EQ(pci_register_bar(dev.d, 0, PCI_BAR_IO, 32, &dev_ops, &dev), 0);
        ASSERT_EQ(pci_register_bar(dev.d, 2, PCI_BAR_MEM32, 0x1000, &dev_ops, &dev), 0);
        ASSERT_EQ(pci_register_bar(dev.d, 4, PCI_BAR_MEM64, 0x4000, &dev_ops, &dev), 0);
        ASSERT_EQ(pci_msix_init(dev.d, 4, 1), 0);
        uint8_t vcap = pci_add_capability(dev.d, PCI_CAP_ID_VNDR, 8);
        ASSERT_NE(vcap, 0);
        dev.d->config[vcap + 2] = 8;
        pci_device_realize(dev.d);
    }

    // Linux's __pci_read_base for a 32-bit BAR: decode off, write ones, read, restore.
    uint32_t SizeBar32(unsigned slot, unsigned reg)
    {
        uint16_t cmd = (uint16_t)tm.cfg_read(slot, PCI_COMMAND, 2);
        tm.cfg_write(slot, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY), 2);
        uint32_t orig = tm.cfg_read(slot, reg, 4);
        tm.cfg_write(slot, reg, 0xFFFFFFFF, 4);
        uint32_t sz = tm.cfg_read(slot, reg, 4);
        tm.cfg_write(slot, reg, orig, 4);
        tm.cfg_write(slot, PCI_COMMAND, cmd, 2);
        return sz;
    }

    TestMachine tm;
    PciBus *bus = nullptr;
    TestDev dev;
};

TEST_F(PciTest, Type1ProbeAndHostBridge)
{
    // pci_check_type1: CONFIG_ADDRESS holds what was written, bits 1:0 read as zero.
    tm.out(0xCF8, 0x80000000, 4);
    EXPECT_EQ(tm.in(0xCF8, 4), 0x80000000u);
    tm.out(0xCF8, 0x80001237, 4);
    EXPECT_EQ(tm.in(0xCF8, 4), 0x80001234u);
    // Host bridge 00:00.0: Intel, class 06:00 (host bridge), header type 0.
    EXPECT_EQ(tm.cfg_read(0, PCI_VENDOR_ID, 2), 0x8086u);
    EXPECT_EQ(tm.cfg_read(0, PCI_DEVICE_ID, 2), 0x29C0u);
    EXPECT_EQ(tm.cfg_read(0, PCI_CLASS_DEVICE, 2), 0x0600u);
    EXPECT_EQ(tm.cfg_read(0, PCI_HEADER_TYPE, 1), 0u);
    EXPECT_EQ(tm.cfg_read(0, 0, 4), 0x29C08086u);
}

TEST_F(PciTest, EnumerationFindsDevicesAndNothingElse)
{
    int found = 0;
    for (unsigned slot = 0; slot < 32; slot++) {
        uint32_t id = tm.cfg_read(slot, 0, 4);
        if (id == 0xFFFFFFFF) {
            continue;
        }
        found++;
        if (slot == 1) {
            EXPECT_EQ(id, 0x56781234u);
            EXPECT_EQ(tm.cfg_read(slot, PCI_REVISION_ID, 4), 0x02000003u);   // class 02:00:00, rev 3
            EXPECT_EQ(tm.cfg_read(slot, PCI_INTERRUPT_PIN, 1), 1u);
            EXPECT_EQ(tm.cfg_read(slot, PCI_INTERRUPT_LINE, 1), 11u);
        }
    }
    EXPECT_EQ(found, 2);
    // Other functions and buses are empty; a disabled CONFIG_ADDRESS reaches nothing.
    tm.out(0xCF8, 0x80000100u | 1 << 11, 4);
    EXPECT_EQ(tm.in(0xCFC, 4), 0xFFFFFFFFu);
    EXPECT_EQ(tm.cfg_read(1, 1, 0, 4), 0xFFFFFFFFu);
    tm.out(0xCF8, 1 << 11, 4);
    EXPECT_EQ(tm.in(0xCFC, 4), 0xFFFFFFFFu);
    // Byte and word reads of the data port pick the addressed bytes.
    EXPECT_EQ(tm.cfg_read(1, 2, 2), 0x5678u);
    EXPECT_EQ(tm.cfg_read(1, 3, 1), 0x56u);
}

TEST_F(PciTest, ReadOnlyAndWriteOneToClear)
{
    tm.cfg_write(1, PCI_VENDOR_ID, 0xFFFFFFFF, 4);
    EXPECT_EQ(tm.cfg_read(1, 0, 4), 0x56781234u);
    tm.cfg_write(1, PCI_CLASS_PROG, 0xFFFFFFFF, 4);
    EXPECT_EQ(tm.cfg_read(1, PCI_REVISION_ID, 4), 0x02000003u);
    dev.d->config[PCI_STATUS + 1] |= 0x20;   // received master abort
    uint16_t st = (uint16_t)tm.cfg_read(1, PCI_STATUS, 2);
    EXPECT_TRUE(st & 0x2000);
    EXPECT_TRUE(st & PCI_STATUS_CAP_LIST);
    tm.cfg_write(1, PCI_STATUS, 0x2000, 2);
    st = (uint16_t)tm.cfg_read(1, PCI_STATUS, 2);
    EXPECT_FALSE(st & 0x2000);
    EXPECT_TRUE(st & PCI_STATUS_CAP_LIST);   // read-only bits stay
    tm.cfg_write(1, PCI_INTERRUPT_LINE, 0x0B, 1);
    EXPECT_EQ(tm.cfg_read(1, PCI_INTERRUPT_LINE, 1), 0x0Bu);
    EXPECT_EQ(tm.cfg_read(1, PCI_ROM_ADDRESS, 4), 0u);   // no expansion ROM: sizing finds nothing
    tm.cfg_write(1, PCI_ROM_ADDRESS, 0xFFFFFFFF, 4);
    EXPECT_EQ(tm.cfg_read(1, PCI_ROM_ADDRESS, 4), 0u);
}

TEST_F(PciTest, BarSizingAsLinuxDoesIt)
{
    uint32_t io = SizeBar32(1, PCI_BASE_ADDRESS_0);
    EXPECT_EQ(io & 1, 1u);
    EXPECT_EQ((~(io & 0xFFFC) + 1) & 0xFFFF, 32u);
    uint32_t msix = SizeBar32(1, PCI_BASE_ADDRESS_0 + 4);
    EXPECT_EQ(msix & 0xF, 0u);
    EXPECT_EQ(~(msix & ~0xFu) + 1, 0x1000u);
    uint32_t mem = SizeBar32(1, PCI_BASE_ADDRESS_0 + 8);
    EXPECT_EQ(~(mem & ~0xFu) + 1, 0x1000u);
    // 64-bit: both halves.
    uint32_t lo = SizeBar32(1, PCI_BASE_ADDRESS_0 + 16);
    uint32_t hi = SizeBar32(1, PCI_BASE_ADDRESS_0 + 20);
    EXPECT_EQ(lo & 0x6, 0x4u);   // type 64-bit
    uint64_t mask = (uint64_t)hi << 32 | (lo & ~0xFu);
    EXPECT_EQ(~mask + 1, 0x4000u);
    // The values came back and decoding resumed where firmware (we) put the BARs.
    uint64_t a2 = tm.cfg_read(1, PCI_BASE_ADDRESS_0 + 8, 4) & ~0xFu;
    EXPECT_GE(a2, PC_PCI_MMIO_BASE);
    EXPECT_LT(a2, PC_PCI_MMIO_END);
    EXPECT_EQ(tm.rd(a2 + 0x10, 4), 0xAB000010u);
    uint32_t io_base = tm.cfg_read(1, PCI_BASE_ADDRESS_0, 4) & ~3u;
    EXPECT_GE(io_base, 0xC000u);
    EXPECT_EQ(tm.in((uint16_t)(io_base + 4), 4), 0xAB000004u);
}

TEST_F(PciTest, ReprogrammingMovesTheRange)
{
    uint64_t old2 = tm.cfg_read(1, PCI_BASE_ADDRESS_0 + 8, 4) & ~0xFu;
    tm.cfg_write(1, PCI_BASE_ADDRESS_0 + 8, 0xD0000000, 4);
    EXPECT_EQ(tm.rd(0xD0000008, 4), 0xAB000008u);
    EXPECT_EQ(tm.rd(old2 + 8, 4), 0xFFFFFFFFu);   // nobody answers there now
    tm.wr(0xD0000020, 0x55, 4);
    EXPECT_EQ(dev.last_write_off, 0x20u);
    EXPECT_EQ(dev.last_write_val, 0x55u);
    // Low bits below the size are not writable: the BAR stays aligned.
    tm.cfg_write(1, PCI_BASE_ADDRESS_0 + 8, 0xD0000123, 4);
    EXPECT_EQ(tm.cfg_read(1, PCI_BASE_ADDRESS_0 + 8, 4), 0xD0000000u);
    // 64-bit BAR above 4 GiB.
    tm.cfg_write(1, PCI_BASE_ADDRESS_0 + 16, 0x00004000, 4);
    tm.cfg_write(1, PCI_BASE_ADDRESS_0 + 20, 0x00000008, 4);
    uint64_t addr;
    ASSERT_TRUE(pci_bar_mapped(dev.d, 4, &addr));
    EXPECT_EQ(addr, 0x800004000ull);
    EXPECT_EQ(tm.rd(0x800004000ull + 0x40, 4), 0xAB000040u);
    // I/O BAR.
    tm.cfg_write(1, PCI_BASE_ADDRESS_0, 0xE000, 4);
    EXPECT_EQ(tm.cfg_read(1, PCI_BASE_ADDRESS_0, 4), 0xE001u);
    EXPECT_EQ(tm.in(0xE01C, 4), 0xAB00001Cu);
    // Memory decode off: gone; on again: back.
    tm.cfg_write(1, PCI_COMMAND, PCI_COMMAND_IO, 2);
    EXPECT_EQ(tm.rd(0xD0000008, 4), 0xFFFFFFFFu);
    EXPECT_EQ(tm.in(0xE01C, 4), 0xAB00001Cu);
    tm.cfg_write(1, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    EXPECT_EQ(tm.rd(0xD0000008, 4), 0xAB000008u);
    // A machine reset puts everything back where it was at power-on.
    machine_lock(&tm.m);
    machine_reset_devices(&tm.m);
    machine_unlock(&tm.m);
    EXPECT_EQ(tm.cfg_read(1, PCI_BASE_ADDRESS_0 + 8, 4) & ~0xFu, old2);
    EXPECT_EQ(tm.rd(old2 + 8, 4), 0xAB000008u);
    EXPECT_EQ(tm.rd(0xD0000008, 4), 0xFFFFFFFFu);
}

TEST_F(PciTest, CapabilityWalk)
{
    ASSERT_TRUE(tm.cfg_read(1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    unsigned pos = tm.cfg_read(1, PCI_CAPABILITY_LIST, 1) & ~3u;
    int seen = 0, msix = 0, vndr = 0;
    while (pos && seen < 48) {
        ASSERT_GE(pos, 0x40u);
        unsigned id = tm.cfg_read(1, pos, 1);
        if (id == PCI_CAP_ID_MSIX) {
            msix++;
            uint16_t ctl = (uint16_t)tm.cfg_read(1, pos + 2, 2);
            EXPECT_EQ(ctl & PCI_MSIX_FLAGS_QSIZE, 3u);   // 4 vectors
            EXPECT_EQ(tm.cfg_read(1, pos + 4, 4), 1u);    // table at BAR 1 + 0
            EXPECT_EQ(tm.cfg_read(1, pos + 8, 4), 0x801u); // PBA at BAR 1 + 0x800
        } else if (id == PCI_CAP_ID_VNDR) {
            vndr++;
            EXPECT_EQ(tm.cfg_read(1, pos + 2, 1), 8u);
        }
        pos = tm.cfg_read(1, pos + 1, 1) & ~3u;
        seen++;
    }
    EXPECT_EQ(msix, 1);
    EXPECT_EQ(vndr, 1);
    EXPECT_EQ(seen, 2);
}

TEST_F(PciTest, MsixMaskPendingAndDelivery)
{
    unsigned cap = dev.d->msix.cap;
    uint64_t table = tm.cfg_read(1, PCI_BASE_ADDRESS_0 + 4, 4) & ~0xFu;
    // Every vector starts masked.
    EXPECT_EQ(tm.rd(table + 12, 4), 1u);
    tm.wr(table + 16 * 2 + 0, 0xFEE00000, 4);
    tm.wr(table + 16 * 2 + 4, 0, 4);
    tm.wr(table + 16 * 2 + 8, 0x4031, 4);
    EXPECT_EQ(tm.rd(table + 16 * 2 + 8, 4), 0x4031u);
    unsigned before = test_msi_count;
    // Not enabled: nothing at all.
    machine_lock(&tm.m);
    pci_msix_notify(dev.d, 2);
    machine_unlock(&tm.m);
    EXPECT_EQ(test_msi_count, before);
    tm.cfg_write(1, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
    EXPECT_TRUE(pci_msix_enabled(dev.d));
    // Enabled but masked: pending bit, no message.
    machine_lock(&tm.m);
    pci_msix_notify(dev.d, 2);
    machine_unlock(&tm.m);
    EXPECT_EQ(test_msi_count, before);
    EXPECT_EQ(tm.rd(table + 0x800, 4), 1u << 2);
    // Unmasking sends the held message and clears the bit.
    tm.wr(table + 16 * 2 + 12, 0, 4);
    ASSERT_EQ(test_msi_count, before + 1);
    EXPECT_EQ(test_msi_addr[before % TEST_MSI_MAX], 0xFEE00000u);
    EXPECT_EQ(test_msi_data[before % TEST_MSI_MAX], 0x4031u);
    EXPECT_EQ(tm.rd(table + 0x800, 4), 0u);
    // Unmasked: straight through.
    machine_lock(&tm.m);
    pci_msix_notify(dev.d, 2);
    machine_unlock(&tm.m);
    EXPECT_EQ(test_msi_count, before + 2);
    // Function mask holds everything back until cleared.
    tm.cfg_write(1, cap + 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
    machine_lock(&tm.m);
    pci_msix_notify(dev.d, 2);
    machine_unlock(&tm.m);
    EXPECT_EQ(test_msi_count, before + 2);
    tm.cfg_write(1, cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
    EXPECT_EQ(test_msi_count, before + 3);
    // The table size field is read-only.
    tm.cfg_write(1, cap + 2, 0xFFFF, 2);
    EXPECT_EQ(tm.cfg_read(1, cap + 2, 2), 0xC003u);
}

TEST_F(PciTest, IntxLevelAndDisable)
{
    machine_lock(&tm.m);
    pci_set_irq(dev.d, 1);
    machine_unlock(&tm.m);
    EXPECT_EQ(tm.gsi_level[11], 1);   // slot 1: IRQ 11
    EXPECT_TRUE(tm.cfg_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    tm.cfg_write(1, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE, 2);
    EXPECT_EQ(tm.gsi_level[11], 0);
    EXPECT_TRUE(tm.cfg_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);   // the device still wants it
    tm.cfg_write(1, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
    EXPECT_EQ(tm.gsi_level[11], 1);
    // A second device on IRQ 11 (slot 3) shares the line: it stays up until both let go.
    PciDevice *other = pci_device_new(bus, "other", 0x1234, 0x1, 0xFF0000, 0);
    PciDevice *third = pci_device_new(bus, "third", 0x1234, 0x2, 0xFF0000, 0);
    ASSERT_EQ(third->gsi, 11);
    (void)other;
    machine_lock(&tm.m);
    pci_set_irq(third, 1);
    pci_set_irq(dev.d, 0);
    machine_unlock(&tm.m);
    EXPECT_EQ(tm.gsi_level[11], 1);
    machine_lock(&tm.m);
    pci_set_irq(third, 0);
    machine_unlock(&tm.m);
    EXPECT_EQ(tm.gsi_level[11], 0);
    EXPECT_FALSE(tm.cfg_read(1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
}

TEST(PciBusFull, ThirtyTwoSlotsThenNoMore)
{
    TestMachine tm;
    PciBus *bus = pci_host_create(&tm.m);
    int made = 0;
    while (pci_device_new(bus, "filler", 0x1234, 0x9999, 0xFF0000, 0)) {
        made++;
        ASSERT_LE(made, 32);
    }
    EXPECT_EQ(made, 31);   // slot 0 is the host bridge
    EXPECT_EQ(tm.cfg_read(31, 0, 4), 0x99991234u);
    EXPECT_EQ(pci_bus_device(bus, 31)->gsi, 11);
    EXPECT_EQ(pci_bus_device(bus, 30)->gsi, 10);
}

}  // namespace
