// The 8259A pair as a guest drives it: ICW1-4, priorities, EOI, masks, the cascade, ELCR, auto-EOI and
// spurious interrupts. The CPU side is the BSP's pc_cpu_interrupt_pending / _ack (virtual-wire mode).
#include "system/pc/devices/tests/device-test-util.h"

extern "C" {
#include "system/pc/devices/pic.h"
}

namespace {

class PicTest : public DeviceTest {
protected:
    Vcpu *bsp() { return &vcpus[0]; }
    void pulse(int irq)
    {
        machine_set_gsi(&m, irq, 1);
        machine_set_gsi(&m, irq, 0);
    }
};

TEST_F(PicTest, PriorityEoiAndStatusReads)
{
    pic_init();
    take_requests(0);
    pulse(3);
    pulse(1);
    EXPECT_TRUE(take_requests(0) & VCPU_REQ_INTERRUPT) << "INT reaches the BSP through LINT0 (ExtINT)";
    outb(0x20, 0x0A);                                   // OCW3: read IRR
    EXPECT_EQ(inb(0x20), 0x0A);
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp()));
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x21) << "IRQ 1 outranks IRQ 3";
    outb(0x20, 0x0B);                                   // OCW3: read ISR
    EXPECT_EQ(inb(0x20), 0x02);
    EXPECT_FALSE(pc_cpu_interrupt_pending(bsp())) << "IRQ 3 waits while IRQ 1 is in service";
    outb(0x20, 0x20);                                   // non-specific EOI
    EXPECT_EQ(inb(0x20), 0x00);
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp()));
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x23);
    outb(0x20, 0x63);                                   // specific EOI for IR3
    EXPECT_EQ(inb(0x20), 0x00);
    EXPECT_FALSE(pc_cpu_interrupt_pending(bsp()));
}

TEST_F(PicTest, HigherPriorityInterruptsNestAndLowerWait)
{
    pic_init();
    pulse(5);
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x25);
    pulse(6);
    EXPECT_FALSE(pc_cpu_interrupt_pending(bsp()));
    pulse(4);
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp())) << "IRQ 4 preempts IRQ 5 in service";
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x24);
    outb(0x20, 0x20);                                   // retires IRQ 4 (the highest in service)
    outb(0x20, 0x0B);
    EXPECT_EQ(inb(0x20), 0x20);
    outb(0x20, 0x20);
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x26);
}

TEST_F(PicTest, MaskingHoldsRequests)
{
    pic_init();
    outb(0x21, 0x08);                                   // OCW1: mask IRQ 3
    EXPECT_EQ(inb(0x21), 0x08);
    pulse(3);
    EXPECT_FALSE(pc_cpu_interrupt_pending(bsp()));
    outb(0x20, 0x0A);
    EXPECT_EQ(inb(0x20), 0x08) << "the request is latched in IRR";
    outb(0x21, 0x00);
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp()));
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x23);
}

TEST_F(PicTest, SlaveCascade)
{
    pic_init();
    pulse(10);
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp()));
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x2A);
    outb(0x20, 0x0B);
    EXPECT_EQ(inb(0x20), 0x04) << "master IR2 in service";
    outb(0xA0, 0x0B);
    EXPECT_EQ(inb(0xA0), 0x04) << "slave IR2 (IRQ 10) in service";
    pulse(9);
    EXPECT_FALSE(pc_cpu_interrupt_pending(bsp())) << "the master's IR2 in service blocks the slave (no SFNM)";
    outb(0xA0, 0x20);
    outb(0x20, 0x20);
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp()));
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x29);
    pulse(8);
    outb(0xA1, 0x01);                                   // mask IRQ 8 on the slave
    outb(0xA0, 0x20);
    outb(0x20, 0x20);
    // The master latched IR2's edge before the mask: its INTA finds no slave request, so IRQ 15's
    // vector comes back as the spurious one, as on the real pair.
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp()));
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x2F);
    outb(0xA0, 0x0B);
    EXPECT_EQ(inb(0xA0), 0x00) << "a spurious IRQ 15 is not in service on the slave";
}

TEST_F(PicTest, SpuriousVectors)
{
    pic_init();
    // The request vanishes between INT and INTA (the CPU's INTA reaches the PIC directly here): the
    // datasheet's default IR7 vector, with nothing put in service.
    Pic *pic = static_cast<Pic *>(iobus_find(&m.pio, 0x20)->opaque);
    EXPECT_EQ(pic_intack(pic), 0x27);
    outb(0x20, 0x0B);
    EXPECT_EQ(inb(0x20), 0x00);
    // The slave presents nothing but the master sees IR2: IRQ 15's vector, with the master's IR2 in service.
    outb(0x4D0, 0x00);
    pulse(11);
    outb(0xA1, 0x08);                                   // mask IRQ 11 after the master latched IR2
    EXPECT_EQ(pic_intack(pic), 0x2F);
    outb(0x20, 0x0B);
    EXPECT_EQ(inb(0x20), 0x04);
}

TEST_F(PicTest, ElcrLevelMode)
{
    pic_init();
    outb(0x4D1, 0x04);                                  // IRQ 10 level triggered
    outb(0x4D0, 0xFF);
    EXPECT_EQ(inb(0x4D0), 0xF8) << "IRQ 0-2 are always edge";
    EXPECT_EQ(inb(0x4D1), 0x04);
    machine_set_gsi(&m, 10, 1);
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x2A);
    outb(0xA0, 0x20);
    outb(0x20, 0x20);
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp())) << "a level still asserted requests again after EOI";
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x2A);
    machine_set_gsi(&m, 10, 0);
    outb(0xA0, 0x20);
    outb(0x20, 0x20);
    EXPECT_FALSE(pc_cpu_interrupt_pending(bsp()));
}

TEST_F(PicTest, AutoEoi)
{
    pic_init(0x03);                                     // ICW4: 8086 mode, AEOI
    pulse(1);
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x21);
    outb(0x20, 0x0B);
    EXPECT_EQ(inb(0x20), 0x00) << "auto-EOI leaves nothing in service";
    pulse(3);
    EXPECT_TRUE(pc_cpu_interrupt_pending(bsp()));
}

TEST_F(PicTest, PollMode)
{
    pic_init();
    pulse(6);
    outb(0x20, 0x0C);                                   // OCW3: poll
    EXPECT_EQ(inb(0x20), 0x86);
    outb(0x20, 0x0B);
    EXPECT_EQ(inb(0x20), 0x40) << "the poll read acknowledged IRQ 6";
}

TEST_F(PicTest, Lint0RoutesThePicToTheBsp)
{
    pic_init();
    vcpu_current = bsp();
    iobus_write(&m.mmio, PC_LAPIC_BASE + 0xF0, 0x1FF, 4);             // APIC software enabled
    iobus_write(&m.mmio, PC_LAPIC_BASE + 0x350, 0x10700, 4);          // LINT0 ExtINT but masked (IOAPIC mode)
    pulse(1);
    EXPECT_FALSE(pc_cpu_interrupt_pending(bsp())) << "LINT0 masked: the PIC cannot reach the CPU";
    EXPECT_FALSE(pc_cpu_interrupt_pending(&vcpus[1])) << "the PIC is wired to the BSP only";
    iobus_write(&m.mmio, PC_LAPIC_BASE + 0x350, 0x00700, 4);          // virtual wire
    EXPECT_TRUE(take_requests(0) & VCPU_REQ_INTERRUPT) << "unmasking LINT0 lets the waiting request in";
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp()));
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x21);
    outb(0x20, 0x20);
    iobus_write(&m.mmio, PC_LAPIC_BASE + 0x350, 0x10700, 4);
    ASSERT_TRUE(pc_cpu_set_apic_base(bsp(), PC_LAPIC_BASE | 0x100));   // hardware disable
    pulse(3);
    ASSERT_TRUE(pc_cpu_interrupt_pending(bsp())) << "with the APIC off, INT is the CPU's INTR pin";
    EXPECT_EQ(pc_cpu_interrupt_ack(bsp()), 0x23);
}

}  // namespace
