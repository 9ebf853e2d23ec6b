// The reset lines (i8042 command 0xFE and output port, port 0x92, port 0xCF9) and the i8042's answers
// to Linux's probe: self-test, command byte, keyboard and mouse replies with their interrupts.
#include "system/pc/devices/tests/device-test-util.h"

namespace {

class ResetTest : public DeviceTest {
protected:
    // Wait for the output buffer like a driver, then read it.
    int read_data()
    {
        if (!(inb(0x64) & 0x01)) {
            return -1;
        }
        return inb(0x60);
    }
};

TEST_F(ResetTest, I8042PulseResetLine)
{
    outb(0x64, 0xFE);
    EXPECT_EQ(test_reset_requests, 1);
    EXPECT_EQ(test_last_cause, SHUTDOWN_CAUSE_GUEST_RESET);
    outb(0x64, 0xFF);                                   // pulse nothing
    EXPECT_EQ(test_reset_requests, 1);
    outb(0x64, 0xD1);                                   // write output port with RESET low
    outb(0x60, 0x02);
    EXPECT_EQ(test_reset_requests, 2);
}

TEST_F(ResetTest, Port92AndCf9)
{
    EXPECT_EQ(inb(0x92) & 0x02, 0x02) << "A20 on";
    outb(0x92, 0x03);
    EXPECT_EQ(test_reset_requests, 1);
    EXPECT_EQ(inb(0x92) & 1, 0);
    outb(0xCF9, 0x02);                                  // SYS_RST alone does nothing yet
    EXPECT_EQ(test_reset_requests, 1);
    EXPECT_EQ(inb(0xCF9), 0x02);
    outb(0xCF9, 0x06);
    EXPECT_EQ(test_reset_requests, 2);
    outb(0xCF9, 0x0E);
    EXPECT_EQ(test_reset_requests, 3);
    EXPECT_EQ(test_last_cause, SHUTDOWN_CAUSE_GUEST_RESET);
}

TEST_F(ResetTest, I8042Probe)
{
    EXPECT_EQ(inb(0x64) & 0x01, 0) << "nothing to read";
    outb(0x64, 0xAA);
    EXPECT_EQ(read_data(), 0x55) << "self-test passed";
    EXPECT_EQ(inb(0x64) & 0x04, 0x04) << "system flag";
    outb(0x64, 0x20);
    int ccb = read_data();
    EXPECT_EQ(ccb & 0x01, 0x01) << "keyboard interrupt enabled";
    outb(0x64, 0x60);
    outb(0x60, 0x44);                                   // interrupts off
    outb(0x64, 0x20);
    EXPECT_EQ(read_data(), 0x44);
    outb(0x64, 0xD3);                                   // loop a byte through the mouse output buffer
    outb(0x60, 0x5A);
    EXPECT_EQ(inb(0x64) & 0x21, 0x21) << "AUX OBF";
    EXPECT_EQ(read_data(), 0x5A);
    outb(0x64, 0xAB);
    EXPECT_EQ(read_data(), 0x00) << "keyboard interface test";
}

TEST_F(ResetTest, KeyboardAndMouseReplies)
{
    LineRecorder irq1, irq12;
    record_gsi(1, &irq1);
    record_gsi(12, &irq12);
    outb(0x60, 0xFF);                                   // keyboard reset
    EXPECT_EQ(irq1.level, 1);
    EXPECT_EQ(read_data(), 0xFA);
    EXPECT_EQ(read_data(), 0xAA);
    EXPECT_EQ(irq1.level, 0);
    EXPECT_EQ(irq1.rising, 2) << "one interrupt per byte";
    outb(0x60, 0xF2);
    EXPECT_EQ(read_data(), 0xFA);
    EXPECT_EQ(read_data(), 0xAB);
    EXPECT_EQ(read_data(), 0x83);
    EXPECT_EQ(read_data(), -1);
    outb(0x64, 0xD4);
    outb(0x60, 0xF2);                                   // mouse: get id
    EXPECT_EQ(irq12.level, 1);
    EXPECT_EQ(irq1.level, 0);
    EXPECT_EQ(read_data(), 0xFA);
    EXPECT_EQ(read_data(), 0x00);
    EXPECT_EQ(irq12.level, 0);
}

}  // namespace
