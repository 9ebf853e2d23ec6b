// The MC146818 as a guest reads it: the host's time in BCD and binary, 24 and 12 hour formats, setting
// the clock with SET, UIP, periodic interrupts on IRQ 8 with register C cleared on read, and the CMOS
// memory-size bytes.
#include "system/pc/devices/tests/device-test-util.h"

#include <ctime>

namespace {

class RtcTest : public DeviceTest {
protected:
    uint8_t cmos(uint8_t idx)
    {
        outb(0x70, idx);
        return inb(0x71);
    }
    void cmos_write(uint8_t idx, uint8_t v)
    {
        outb(0x70, idx);
        outb(0x71, v);
    }
    static int bcd(uint8_t v) { return (v >> 4) * 10 + (v & 15); }

    // Read the time registers and the host's time within the same second (retry across a tick).
    void read_time(bool binary, int regs[7], struct tm *host)
    {
        static const uint8_t idx[7] = { 0, 2, 4, 7, 8, 9, 0x32 };
        for (int attempt = 0; attempt < 5; attempt++) {
            time_t before = time(nullptr);
            for (int i = 0; i < 7; i++) {
                uint8_t v = cmos(idx[i]);
                regs[i] = (i == 2) ? v : (binary ? v : bcd(v));
            }
            time_t after = time(nullptr);
            if (before == after) {
                gmtime_r(&before, host);
                return;
            }
        }
        FAIL() << "the clock kept ticking";
    }
};

TEST_F(RtcTest, BcdTimeMatchesHost)
{
    EXPECT_EQ(cmos(0x0B), 0x02) << "24-hour, BCD";
    EXPECT_EQ(cmos(0x0D), 0x80) << "valid RAM and time";
    int r[7];
    struct tm h;
    read_time(false, r, &h);
    EXPECT_EQ(r[0], h.tm_sec);
    EXPECT_EQ(r[1], h.tm_min);
    EXPECT_EQ(bcd(r[2]), h.tm_hour);
    EXPECT_EQ(r[3], h.tm_mday);
    EXPECT_EQ(r[4], h.tm_mon + 1);
    EXPECT_EQ(r[5], h.tm_year % 100);
    EXPECT_EQ(r[6], (h.tm_year + 1900) / 100);
    EXPECT_EQ(bcd(cmos(6)), h.tm_wday + 1) << "day of week, Sunday = 1";
}

TEST_F(RtcTest, BinaryAnd12HourFormats)
{
    cmos_write(0x0B, 0x06);                             // binary, 24-hour
    int r[7];
    struct tm h;
    read_time(true, r, &h);
    EXPECT_EQ(r[0], h.tm_sec);
    EXPECT_EQ(r[2], h.tm_hour);
    EXPECT_EQ(r[5], h.tm_year % 100);
    cmos_write(0x0B, 0x04);                             // binary, 12-hour
    read_time(true, r, &h);
    int h12 = h.tm_hour % 12 == 0 ? 12 : h.tm_hour % 12;
    EXPECT_EQ(r[2] & 0x7F, h12);
    EXPECT_EQ((r[2] & 0x80) != 0, h.tm_hour >= 12) << "bit 7 is PM";
}

TEST_F(RtcTest, SettingTheClock)
{
    cmos_write(0x0B, 0x82);                             // SET, BCD, 24-hour
    cmos_write(0x09, 0x99);
    cmos_write(0x32, 0x19);
    cmos_write(0x08, 0x12);
    cmos_write(0x07, 0x31);
    cmos_write(0x04, 0x23);
    cmos_write(0x02, 0x59);
    cmos_write(0x00, 0x59);
    EXPECT_EQ(cmos(0x00), 0x59) << "frozen while SET";
    cmos_write(0x0B, 0x02);
    EXPECT_EQ(cmos(0x09), 0x99);
    EXPECT_EQ(cmos(0x32), 0x19);
    ASSERT_TRUE(run_until([&] { return cmos(0x09) == 0x00; }, 2500)) << "1999-12-31 23:59:59 rolls over";
    EXPECT_EQ(cmos(0x32), 0x20);
    EXPECT_EQ(cmos(0x08), 0x01);
    EXPECT_EQ(cmos(0x07), 0x01);
}

TEST_F(RtcTest, UpdateInProgressPrecedesEachUpdate)
{
    // Setting the clock starts a second at that instant; UIP must show in the 244 us before each of the
    // next updates (watched around three of them, in case this process is not running at one) and not
    // well before.
    cmos_write(0x0B, 0x82);
    cmos_write(0x00, 0x10);
    cmos_write(0x0B, 0x02);
    int64_t t0 = g_get_monotonic_time();
    bool seen = false, early = false;
    for (int k = 1; k <= 3 && !seen; k++) {
        int64_t window = t0 + k * 1000000;
        int64_t nap = window - 3000 - g_get_monotonic_time();
        if (nap > 0) {
            g_usleep(nap);
        }
        early |= (cmos(0x0A) & 0x80) != 0 && g_get_monotonic_time() < window - 1000;
        while (!seen && g_get_monotonic_time() < window + 2000) {
            seen = cmos(0x0A) & 0x80;
        }
    }
    EXPECT_TRUE(seen);
    EXPECT_FALSE(early);
    EXPECT_EQ(cmos(0x0A) & 0x7F, 0x26);
}

TEST_F(RtcTest, PeriodicInterruptAndRegisterC)
{
    LineRecorder irq8;
    record_gsi(8, &irq8);
    cmos(0x0C);
    cmos_write(0x0A, 0x2A);                             // 64 Hz
    cmos_write(0x0B, 0x42);                             // PIE
    int64_t start = g_get_monotonic_time();
    ASSERT_TRUE(run_until([&] { return irq8.level == 1; }, 1000));
    EXPECT_GE(g_get_monotonic_time() - start, 15000) << "the first period is 15.6 ms";
    uint8_t c = cmos(0x0C);
    EXPECT_EQ(c & 0xC0, 0xC0) << "IRQF and PF";
    EXPECT_EQ(irq8.level, 0) << "reading C lowers IRQ 8";
    EXPECT_EQ(cmos(0x0C) & 0xC0, 0) << "and clears the flags";
    ASSERT_TRUE(run_until([&] {
        if (irq8.level) {
            cmos(0x0C);                                 // the handler acknowledges each one
        }
        return irq8.rising >= 4;
    }, 1000)) << "periodic: it comes again";
    cmos_write(0x0B, 0x02);
}

TEST_F(RtcTest, UpdateEndedInterrupt)
{
    LineRecorder irq8;
    record_gsi(8, &irq8);
    cmos(0x0C);
    cmos_write(0x0B, 0x12);                             // UIE
    ASSERT_TRUE(run_until([&] { return irq8.level == 1; }, 2000));
    EXPECT_EQ(cmos(0x0C) & 0x90, 0x90) << "IRQF and UF";
}

TEST_F(RtcTest, MemorySizeBytes)
{
    // 512 MiB: 511 MiB above 1 MiB (capped at 0xFFFF KiB), 496 MiB above 16 MiB in 64 KiB units.
    EXPECT_EQ(cmos(0x15) | cmos(0x16) << 8, 640);
    EXPECT_EQ(cmos(0x17) | cmos(0x18) << 8, 0xFFFF);
    EXPECT_EQ(cmos(0x34) | cmos(0x35) << 8, 496 * 16);
    EXPECT_EQ(cmos(0x5B) | cmos(0x5C) << 8 | cmos(0x5D) << 16, 0);
    EXPECT_EQ(cmos(0x5F), 1) << "CPUs - 1";
    cmos_write(0x40, 0xA5);
    EXPECT_EQ(cmos(0x40), 0xA5) << "CMOS RAM keeps what is written";
    outb(0x70, 0x80 | 0x40);                            // NMI mask bit set: same register
    EXPECT_EQ(inb(0x71), 0xA5);
}

}  // namespace
