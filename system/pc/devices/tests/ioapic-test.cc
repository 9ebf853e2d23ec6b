// The I/O APIC as the OS programs it: redirection entries through IOREGSEL/IOWIN, edge and level
// inputs, remote IRR cleared by the local APIC's EOI, masks, the ISA IRQ 0 -> pin 2 override, and the
// PIC's path through an ExtINT entry.
#include "system/pc/devices/tests/device-test-util.h"

namespace {

class IoApicTest : public DeviceTest {
protected:
    void SetUp() override
    {
        DeviceTest::SetUp();
        apic_write(0, 0xF0, 0x1FF);
        apic_write(1, 0xF0, 0x1FF);
        outb(0x21, 0xFF);                               // the OS masks the 8259s when it uses the I/O APIC
        outb(0xA1, 0xFF);
    }
    void route(int pin, uint32_t lo, uint8_t dest)
    {
        ioapic_write(0x11 + 2 * pin, (uint32_t)dest << 24);
        ioapic_write(0x10 + 2 * pin, lo);
    }
    void pulse(int gsi)
    {
        machine_set_gsi(&m, gsi, 1);
        machine_set_gsi(&m, gsi, 0);
    }
};

TEST_F(IoApicTest, Identification)
{
    EXPECT_EQ(ioapic_read(0x01), 0x00170011u) << "82093AA, 24 entries";
    EXPECT_EQ(ioapic_read(0x00), 0u);
    EXPECT_EQ(ioapic_read(0x10), 0x10000u) << "entries start masked";
    ioapic_write(0x00, 0x0F000000);
    EXPECT_EQ(ioapic_read(0x00), 0x0F000000u);
}

TEST_F(IoApicTest, EdgeEntryDeliversToItsCpu)
{
    route(4, 0x31, 1);                                  // fixed, physical, edge, to CPU 1
    EXPECT_EQ(ioapic_read(0x18), 0x31u);
    EXPECT_EQ(ioapic_read(0x19), 1u << 24);
    take_requests(1);
    pulse(4);
    EXPECT_TRUE(irr(1, 0x31));
    EXPECT_FALSE(irr(0, 0x31));
    EXPECT_TRUE(take_requests(1) & VCPU_REQ_INTERRUPT);
    EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[1]), 0x31);
    apic_write(1, 0xB0, 0);
    EXPECT_EQ(ioapic_read(0x18) & 0x4000, 0u) << "no remote IRR for edge entries";
}

TEST_F(IoApicTest, LevelEntryRemoteIrrAndEoi)
{
    route(10, 0x8000 | 0x41, 0);                        // level, vector 0x41, CPU 0
    machine_set_gsi(&m, 10, 1);
    EXPECT_TRUE(irr(0, 0x41));
    EXPECT_EQ(ioapic_read(0x10 + 20) & 0x4000, 0x4000u) << "remote IRR";
    EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[0]), 0x41);
    EXPECT_TRUE(apic_bit(0, 0x180, 0x41)) << "TMR marks it level triggered";
    apic_write(0, 0xB0, 0);                             // EOI while still asserted: sent again
    EXPECT_TRUE(irr(0, 0x41));
    EXPECT_EQ(ioapic_read(0x10 + 20) & 0x4000, 0x4000u);
    EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[0]), 0x41);
    machine_set_gsi(&m, 10, 0);                         // the driver silenced the device
    apic_write(0, 0xB0, 0);
    EXPECT_EQ(ioapic_read(0x10 + 20) & 0x4000, 0u) << "EOI broadcast cleared remote IRR";
    EXPECT_FALSE(irr(0, 0x41));
}

TEST_F(IoApicTest, MaskedInputs)
{
    route(5, 0x10000 | 0x35, 0);                        // masked edge entry
    pulse(5);
    EXPECT_FALSE(irr(0, 0x35));
    route(5, 0x35, 0);                                  // unmask: the edge was remembered
    EXPECT_TRUE(irr(0, 0x35));
    route(11, 0x10000 | 0x8000 | 0x36, 0);              // masked level entry, asserted
    machine_set_gsi(&m, 11, 1);
    EXPECT_FALSE(irr(0, 0x36));
    route(11, 0x8000 | 0x36, 0);
    EXPECT_TRUE(irr(0, 0x36)) << "an asserted level is sent when unmasked";
}

TEST_F(IoApicTest, IsaIrq0IsPin2)
{
    route(2, 0x50, 0);
    route(0, 0x51, 0);
    pulse(0);                                           // the PIT's GSI 0
    EXPECT_TRUE(irr(0, 0x50)) << "ISA IRQ 0 arrives on pin 2 (MADT override)";
    EXPECT_FALSE(irr(0, 0x51));
}

TEST_F(IoApicTest, LogicalDestination)
{
    apic_write(0, 0xD0, 0x01000000);
    apic_write(1, 0xD0, 0x02000000);
    route(3, 0x800 | 0x33, 0x03);                       // logical {0, 1}, fixed
    pulse(3);
    EXPECT_TRUE(irr(0, 0x33));
    EXPECT_TRUE(irr(1, 0x33));
}

TEST_F(IoApicTest, ExtIntEntryTakesThePicVector)
{
    pic_init();
    apic_write(0, 0x350, 0x10700);                      // LINT0 masked: only the I/O APIC path is open
    route(2, 0x700, 0);                                 // ExtINT on pin 2
    take_requests(0);
    pulse(0);
    EXPECT_TRUE(take_requests(0) & VCPU_REQ_INTERRUPT);
    ASSERT_TRUE(pc_cpu_interrupt_pending(&vcpus[0]));
    EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[0]), 0x20) << "the 8259's vector for IRQ 0";
}

TEST_F(IoApicTest, PitTicksThroughPin2)
{
    // Linux's check_timer: PIT counter 0 periodic, I/O APIC pin 2 edge to CPU 0, the 8259s masked.
    route(2, 0x30, 0);
    outb(0x43, 0x34);
    outb(0x40, 1193 & 0xFF);
    outb(0x40, 1193 >> 8);
    int ticks = 0;
    ASSERT_TRUE(run_until([&] {
        if (pc_cpu_interrupt_pending(&vcpus[0])) {
            EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[0]), 0x30);
            apic_write(0, 0xB0, 0);
            ticks++;
        }
        return ticks >= 5;
    }, 2000));
    EXPECT_FALSE(irr(1, 0x30));
    outb(0x43, 0x30);                                   // Linux's PIT shutdown: mode 0, count 0
    outb(0x40, 0);
    outb(0x40, 0);
}

}  // namespace
