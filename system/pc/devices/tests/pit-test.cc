// The 8254 as a guest programs it: mode 2 on counter 0 raising IRQ 0 at its period, latched and live
// count reads, read-back status, and counter 2 through port 0x61 (gate and OUT2) as Linux calibrates.
#include "system/pc/devices/tests/device-test-util.h"

namespace {

class PitTest : public DeviceTest {
protected:
    // Counter 2 in mode 0, binary, LSB then MSB: Linux's TSC calibration setup.
    uint16_t read_counter2_latched()
    {
        outb(0x43, 0x80);                               // counter latch, counter 2
        uint8_t lo = inb(0x42);
        return (uint16_t)(lo | inb(0x42) << 8);
    }
};

TEST_F(PitTest, Mode2PeriodRaisesIrq0)
{
    LineRecorder irq0;
    record_gsi(0, &irq0);
    outb(0x43, 0x34);                                   // counter 0, LSB/MSB, mode 2, binary
    outb(0x40, 1193 & 0xFF);                            // 1193 clocks: 1 ms
    outb(0x40, 1193 >> 8);
    int64_t start = g_get_monotonic_time();
    ASSERT_TRUE(run_until([&] { return irq0.rising >= 20; }, 2000)) << "only " << irq0.rising << " ticks";
    int64_t elapsed_us = g_get_monotonic_time() - start;
    EXPECT_GE(elapsed_us, 19000) << "20 periods of 1 ms cannot come sooner";
    EXPECT_LT(elapsed_us, 1000000);
    EXPECT_EQ(irq0.level, 0) << "modes 2 pulses IRQ 0";
}

TEST_F(PitTest, Mode0OutputStaysHighAfterTerminalCount)
{
    LineRecorder irq0;
    record_gsi(0, &irq0);
    outb(0x43, 0x30);                                   // counter 0, LSB/MSB, mode 0
    outb(0x40, 0xA9);
    outb(0x40, 0x04);                                   // 1193: 1 ms
    EXPECT_EQ(irq0.level, 0);
    ASSERT_TRUE(run_until([&] { return irq0.level == 1; }, 1000));
    EXPECT_EQ(irq0.rising, 1);
    outb(0x40, 0xA9);                                   // a new count drives OUT low again
    outb(0x40, 0x04);
    EXPECT_EQ(irq0.level, 0);
}

TEST_F(PitTest, LatchFreezesTheCount)
{
    outb(0x61, 0x01);                                   // gate counter 2 on, speaker off
    outb(0x43, 0xB0);                                   // counter 2, LSB/MSB, mode 0
    int64_t t0 = g_get_monotonic_time();
    outb(0x42, 0xFF);
    outb(0x42, 0xFF);
    g_usleep(10000);
    outb(0x43, 0x80);                                   // latch counter 2
    int64_t t1 = g_get_monotonic_time();
    g_usleep(5000);
    uint8_t lo = inb(0x42);
    uint16_t latched = (uint16_t)(lo | inb(0x42) << 8);
    // 1.193182 clocks per microsecond between the count write and the latch.
    uint32_t min_ticks = 10000 * 1193182ull / 1000000, max_ticks = (t1 - t0 + 1000) * 1193182ull / 1000000;
    EXPECT_LE(latched, 0xFFFF - min_ticks);
    EXPECT_GE(latched, 0xFFFF - max_ticks) << "the latch holds the count of its moment, not of the read";
    uint16_t live = read_counter2_latched();
    EXPECT_LT(live, latched - 5000) << "5 ms later the counter has moved on by ~5966";
}

TEST_F(PitTest, LiveLsbMsbReadsAndReadBackStatus)
{
    outb(0x61, 0x01);
    outb(0x43, 0xB0);
    outb(0x42, 0x00);
    outb(0x42, 0x80);                                   // 0x8000
    uint8_t lo = inb(0x42), hi = inb(0x42);
    unsigned count = lo | hi << 8;
    EXPECT_LE(count, 0x8000u) << "LSB then MSB of the live count";
    EXPECT_GT(count, 0x7000u);
    outb(0x43, 0xE8);                                   // read-back: status only, counter 2
    EXPECT_EQ(inb(0x42), 0x30) << "OUT low, count loaded, LSB/MSB, mode 0, binary";
    outb(0x43, 0xB4);                                   // counter 2, mode 2
    outb(0x43, 0xE8);
    EXPECT_EQ(inb(0x42), 0x80 | 0x40 | 0x34) << "OUT high, null count until a count is written";
}

TEST_F(PitTest, Port61ShowsOut2AndGateStopsCounting)
{
    outb(0x61, 0x00);                                   // gate low
    outb(0x43, 0xB0);
    outb(0x42, 100);
    outb(0x42, 0);
    g_usleep(2000);
    EXPECT_EQ(inb(0x61) & 0x20, 0) << "no gate, no count: OUT2 stays low";
    EXPECT_EQ(read_counter2_latched(), 100);
    outb(0x61, 0x01);                                   // gate high: 100 clocks = 84 us
    g_usleep(2000);
    EXPECT_EQ(inb(0x61) & 0x21, 0x21) << "OUT2 high after terminal count";
    bool toggled = false;
    uint8_t first = inb(0x61) & 0x10;
    for (int i = 0; i < 1000 && !toggled; i++) {
        toggled = (inb(0x61) & 0x10) != first;
        g_usleep(5);
    }
    EXPECT_TRUE(toggled) << "the refresh bit toggles";
}

TEST_F(PitTest, BcdCounting)
{
    outb(0x61, 0x01);
    outb(0x43, 0xB1);                                   // counter 2, LSB/MSB, mode 0, BCD
    outb(0x42, 0x00);
    outb(0x42, 0x50);                                   // 5000 decimal
    uint16_t v = read_counter2_latched();
    EXPECT_LE(v, 0x5000);
    EXPECT_GE(v, 0x4000);
    for (int shift = 0; shift < 16; shift += 4) {
        EXPECT_LE((v >> shift) & 0xF, 9) << "each nibble is a decimal digit";
    }
}

}  // namespace
