/*
 * Motorola MC146818A RTC (datasheet: "MC146818A Real-Time Clock plus RAM"). Registers 0-9 hold the time,
 * the alarm and the date in BCD or binary (register B's DM bit) and 12 or 24 hour format (its 24/12
 * bit); registers A-D hold the divider and rate, the control bits, the interrupt flags and the
 * valid-RAM bit. Time registers are generated from the host's clock when read, so they are always
 * current; the guest setting the clock (SET bit, or a direct write) only changes an offset.
 */
#include "system/pc/devices/rtc.h"

#include <string.h>
#include <time.h>

#include "system/pc/timer.h"

enum {
    RTC_SECONDS = 0x00, RTC_SECONDS_ALARM, RTC_MINUTES, RTC_MINUTES_ALARM, RTC_HOURS, RTC_HOURS_ALARM,
    RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR,
    RTC_REG_A = 0x0A, RTC_REG_B, RTC_REG_C, RTC_REG_D,
    RTC_CENTURY = 0x32,         /* the PC convention (and the FADT's CENTURY field) */
};

#define REG_A_UIP   0x80
#define REG_B_SET   0x80
#define REG_B_PIE   0x40
#define REG_B_AIE   0x20
#define REG_B_UIE   0x10
#define REG_B_DM    0x04        /* 1: binary, 0: BCD */
#define REG_B_24H   0x02
#define REG_C_IRQF  0x80
#define REG_C_PF    0x40
#define REG_C_AF    0x20
#define REG_C_UF    0x10

#define NS_PER_S 1000000000ll
/* Datasheet: UIP is set 244 us before the update cycle begins (32.768 kHz time base). */
#define RTC_UIP_NS 244000

struct Rtc {
    Machine *m;
    IrqLine irq;
    uint8_t index;
    uint8_t cmos[128];
    int64_t offset_ns;          /* guest wall clock = host CLOCK_REALTIME + offset */
    int64_t last_second;        /* the guest second whose update cycle was last accounted for */
    int64_t next_periodic_ns;   /* machine_clock_ns() of the next periodic flag; 0: not running */
    MachineTimer *timer;
    bool irq_level;
};

static int64_t rtc_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t rtc_guest_ns(const Rtc *rtc) { return rtc_host_ns() + rtc->offset_ns; }

static int64_t rtc_floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0); }

static bool rtc_binary(const Rtc *rtc) { return rtc->cmos[RTC_REG_B] & REG_B_DM; }

static uint8_t rtc_to_reg(const Rtc *rtc, int v)
{
    return rtc_binary(rtc) ? v : (uint8_t)((v / 10) << 4 | v % 10);
}

static int rtc_from_reg(const Rtc *rtc, uint8_t v)
{
    return rtc_binary(rtc) ? v : (v >> 4) * 10 + (v & 15);
}

static uint8_t rtc_hour_to_reg(const Rtc *rtc, int hour)
{
    if (rtc->cmos[RTC_REG_B] & REG_B_24H) {
        return rtc_to_reg(rtc, hour);
    }
    /* 12-hour mode: 1-12, bit 7 = PM */
    return rtc_to_reg(rtc, hour % 12 == 0 ? 12 : hour % 12) | (hour >= 12 ? 0x80 : 0);
}

static int rtc_hour_from_reg(const Rtc *rtc, uint8_t v)
{
    if (rtc->cmos[RTC_REG_B] & REG_B_24H) {
        return rtc_from_reg(rtc, v);
    }
    return rtc_from_reg(rtc, v & 0x7F) % 12 + ((v & 0x80) ? 12 : 0);
}

/* Registers 0, 2, 4, 6-9 and the century from the guest's current time. */
static void rtc_fill_time(Rtc *rtc)
{
    time_t secs = rtc_floor_div(rtc_guest_ns(rtc), NS_PER_S);
    struct tm tm;
    gmtime_r(&secs, &tm);
    rtc->cmos[RTC_SECONDS] = rtc_to_reg(rtc, tm.tm_sec);
    rtc->cmos[RTC_MINUTES] = rtc_to_reg(rtc, tm.tm_min);
    rtc->cmos[RTC_HOURS] = rtc_hour_to_reg(rtc, tm.tm_hour);
    rtc->cmos[RTC_DAY_OF_WEEK] = rtc_to_reg(rtc, tm.tm_wday + 1);    /* 1 = Sunday */
    rtc->cmos[RTC_DAY_OF_MONTH] = rtc_to_reg(rtc, tm.tm_mday);
    rtc->cmos[RTC_MONTH] = rtc_to_reg(rtc, tm.tm_mon + 1);
    rtc->cmos[RTC_YEAR] = rtc_to_reg(rtc, (tm.tm_year + 1900) % 100);
    rtc->cmos[RTC_CENTURY] = rtc_to_reg(rtc, (tm.tm_year + 1900) / 100);
}

/* The guest set the clock: the registers are the time now (the update cycle restarts at 0 ns). */
static void rtc_take_time(Rtc *rtc)
{
    struct tm tm = {
        .tm_sec = rtc_from_reg(rtc, rtc->cmos[RTC_SECONDS]),
        .tm_min = rtc_from_reg(rtc, rtc->cmos[RTC_MINUTES]),
        .tm_hour = rtc_hour_from_reg(rtc, rtc->cmos[RTC_HOURS]),
        .tm_mday = rtc_from_reg(rtc, rtc->cmos[RTC_DAY_OF_MONTH]),
        .tm_mon = rtc_from_reg(rtc, rtc->cmos[RTC_MONTH]) - 1,
        .tm_year = rtc_from_reg(rtc, rtc->cmos[RTC_CENTURY]) * 100 + rtc_from_reg(rtc, rtc->cmos[RTC_YEAR])
                   - 1900,
    };
    time_t secs = timegm(&tm);      /* normalizes nonsense (month 13, second 75) instead of failing */
    rtc->offset_ns = (int64_t)secs * NS_PER_S - rtc_host_ns();
    rtc->last_second = secs;
}

static bool rtc_clock_running(const Rtc *rtc)
{
    /* DV2-DV0 = 010 is the 32.768 kHz time base; 11x holds the divider in reset. SET stops updates. */
    return (rtc->cmos[RTC_REG_A] & 0x70) == 0x20 && !(rtc->cmos[RTC_REG_B] & REG_B_SET);
}

static int64_t rtc_periodic_ns(const Rtc *rtc)
{
    int rs = rtc->cmos[RTC_REG_A] & 0x0F;
    if (rs == 0 || (rtc->cmos[RTC_REG_A] & 0x70) != 0x20) {
        return 0;
    }
    if (rs <= 2) {
        rs += 7;                /* datasheet table 5: rates 1 and 2 repeat 8 and 9 with a 32 kHz base */
    }
    return ((int64_t)1 << (rs - 1)) * NS_PER_S / 32768;
}

static bool rtc_alarm_matches(const Rtc *rtc)
{
    static const uint8_t pairs[3][2] = {
        { RTC_SECONDS_ALARM, RTC_SECONDS }, { RTC_MINUTES_ALARM, RTC_MINUTES }, { RTC_HOURS_ALARM, RTC_HOURS },
    };
    for (int i = 0; i < 3; i++) {
        uint8_t alarm = rtc->cmos[pairs[i][0]];
        if ((alarm & 0xC0) != 0xC0 && alarm != rtc->cmos[pairs[i][1]]) {    /* 11xxxxxx: "don't care" */
            return false;
        }
    }
    return true;
}

static void rtc_update_irq(Rtc *rtc)
{
    uint8_t b = rtc->cmos[RTC_REG_B], c = rtc->cmos[RTC_REG_C] & 0x70;
    bool irqf = ((c & REG_C_PF) && (b & REG_B_PIE)) || ((c & REG_C_AF) && (b & REG_B_AIE))
                || ((c & REG_C_UF) && (b & REG_B_UIE));
    rtc->cmos[RTC_REG_C] = c | (irqf ? REG_C_IRQF : 0);
    if (irqf != rtc->irq_level) {
        rtc->irq_level = irqf;
        irq_set(&rtc->irq, irqf);   /* IRQ 8 follows IRQF until register C is read */
    }
}

/* Account for periodic ticks and update cycles that happened since we last looked. */
static void rtc_catch_up(Rtc *rtc)
{
    int64_t now = machine_clock_ns();
    int64_t period = rtc_periodic_ns(rtc);
    if (period && rtc->next_periodic_ns && rtc->next_periodic_ns <= now) {
        rtc->cmos[RTC_REG_C] |= REG_C_PF;
        rtc->next_periodic_ns += ((now - rtc->next_periodic_ns) / period + 1) * period;
    }
    if (rtc_clock_running(rtc)) {
        int64_t second = rtc_floor_div(rtc_guest_ns(rtc), NS_PER_S);
        if (second != rtc->last_second) {
            rtc->last_second = second;
            rtc->cmos[RTC_REG_C] |= REG_C_UF;
            rtc_fill_time(rtc);
            if (rtc_alarm_matches(rtc)) {
                rtc->cmos[RTC_REG_C] |= REG_C_AF;
            }
        }
    }
    rtc_update_irq(rtc);
}

/* Arm the timer only for the interrupts the guest enabled; flags without interrupts are computed lazily. */
static void rtc_schedule(Rtc *rtc)
{
    int64_t now = machine_clock_ns(), deadline = -1;
    uint8_t b = rtc->cmos[RTC_REG_B];
    if ((b & REG_B_PIE) && rtc_periodic_ns(rtc) && rtc->next_periodic_ns) {
        deadline = rtc->next_periodic_ns;
    }
    if ((b & (REG_B_UIE | REG_B_AIE)) && rtc_clock_running(rtc)) {
        int64_t g = rtc_guest_ns(rtc);
        int64_t next_second = now + (NS_PER_S - (g - rtc_floor_div(g, NS_PER_S) * NS_PER_S));
        if (deadline < 0 || next_second < deadline) {
            deadline = next_second;
        }
    }
    if (deadline < 0) {
        machine_timer_del(rtc->timer);
    } else {
        machine_timer_mod(rtc->timer, deadline);
    }
}

static void rtc_timer_cb(void *opaque)
{
    Rtc *rtc = opaque;
    rtc_catch_up(rtc);
    rtc_schedule(rtc);
}

static void rtc_restart_periodic(Rtc *rtc)
{
    int64_t period = rtc_periodic_ns(rtc);
    rtc->next_periodic_ns = period ? machine_clock_ns() + period : 0;
}

static uint8_t rtc_read_reg(Rtc *rtc, uint8_t idx)
{
    switch (idx) {
    case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        if (rtc_clock_running(rtc)) {
            rtc_fill_time(rtc);
        }
        return rtc->cmos[idx];
    case RTC_REG_A: {
        int64_t g = rtc_guest_ns(rtc);
        bool uip = rtc_clock_running(rtc) && g - rtc_floor_div(g, NS_PER_S) * NS_PER_S >= NS_PER_S - RTC_UIP_NS;
        return (rtc->cmos[RTC_REG_A] & 0x7F) | (uip ? REG_A_UIP : 0);
    }
    case RTC_REG_C: {
        rtc_catch_up(rtc);
        uint8_t v = rtc->cmos[RTC_REG_C];
        rtc->cmos[RTC_REG_C] = 0;   /* datasheet: all flags clear when register C is read */
        rtc_update_irq(rtc);
        rtc_schedule(rtc);
        return v;
    }
    case RTC_REG_D:
        return 0x80;            /* VRT: the battery is fine */
    default:
        return rtc->cmos[idx];
    }
}

static void rtc_write_reg(Rtc *rtc, uint8_t idx, uint8_t val)
{
    switch (idx) {
    case RTC_SECONDS: case RTC_MINUTES: case RTC_HOURS: case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH: case RTC_MONTH: case RTC_YEAR: case RTC_CENTURY:
        if (rtc_clock_running(rtc)) {
            rtc_fill_time(rtc);     /* a write while running changes just this field of the current time */
            rtc->cmos[idx] = val;
            rtc_take_time(rtc);
        } else {
            rtc->cmos[idx] = val;   /* SET = 1: taken when SET clears */
        }
        break;
    case RTC_REG_A:
        rtc->cmos[RTC_REG_A] = val & 0x7F;
        rtc_restart_periodic(rtc);
        break;
    case RTC_REG_B: {
        uint8_t old = rtc->cmos[RTC_REG_B];
        if ((val & REG_B_SET) && !(old & REG_B_SET)) {
            rtc_fill_time(rtc);     /* freeze the time registers for the guest to rewrite */
            val &= ~REG_B_UIE;      /* datasheet: SET = 1 clears UIE */
        }
        if (val & REG_B_SET) {
            val &= ~REG_B_UIE;
        }
        rtc->cmos[RTC_REG_B] = val;
        if ((old & REG_B_SET) && !(val & REG_B_SET)) {
            rtc_take_time(rtc);
        }
        if ((val & REG_B_PIE) && !(old & REG_B_PIE) && !rtc->next_periodic_ns) {
            rtc_restart_periodic(rtc);
        }
        rtc_update_irq(rtc);
        break;
    }
    case RTC_REG_C:
    case RTC_REG_D:
        machine_log(rtc->m, MACHINE_LOG_GUEST_ERRORS, "rtc: write 0x%02x to read-only register %#x", val, idx);
        break;
    default:
        rtc->cmos[idx] = val;       /* alarms and CMOS RAM */
        break;
    }
    rtc_schedule(rtc);
}

static uint64_t rtc_io_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    Rtc *rtc = opaque;
    return offset == 0 ? rtc->index : rtc_read_reg(rtc, rtc->index);
}

static void rtc_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)size;
    Rtc *rtc = opaque;
    if (offset == 0) {
        rtc->index = value & 0x7F;  /* bit 7 masks NMI on a PC; we have no NMI sources to mask */
    } else {
        rtc_write_reg(rtc, rtc->index, value);
    }
}

static const IoOps rtc_ops = { .read = rtc_io_read, .write = rtc_io_write };

static void rtc_put16(Rtc *rtc, int idx, uint32_t v)
{
    rtc->cmos[idx] = v & 0xFF;
    rtc->cmos[idx + 1] = (v >> 8) & 0xFF;
}

/* The BIOS data area bytes firmware and old kernels read for the memory size and CPU count. */
static void rtc_fill_cmos(Rtc *rtc)
{
    Machine *m = rtc->m;
    uint64_t kb_above_1m = m->ram_low > (1u << 20) ? (m->ram_low - (1u << 20)) / 1024 : 0;
    uint64_t above_16m = m->ram_low > (16u << 20) ? (m->ram_low - (16u << 20)) >> 16 : 0;
    uint64_t above_4g = m->ram_high >> 16;
    rtc->cmos[0x14] = 0x02;                             /* equipment: math coprocessor, no floppy */
    rtc_put16(rtc, 0x15, 640);                          /* base memory in KiB */
    rtc_put16(rtc, 0x17, MIN(kb_above_1m, 0xFFFF));     /* extended memory in KiB (also 0x30/0x31) */
    rtc_put16(rtc, 0x30, MIN(kb_above_1m, 0xFFFF));
    rtc_put16(rtc, 0x34, MIN(above_16m, 0xFFFF));       /* RAM above 16 MiB in 64 KiB units */
    rtc->cmos[0x5B] = above_4g & 0xFF;                  /* RAM above 4 GiB in 64 KiB units (3 bytes) */
    rtc->cmos[0x5C] = (above_4g >> 8) & 0xFF;
    rtc->cmos[0x5D] = (above_4g >> 16) & 0xFF;
    rtc->cmos[0x5F] = m->nr_vcpus > 0 ? m->nr_vcpus - 1 : 0;   /* CPUs - 1, as SeaBIOS reads it */
    unsigned sum = 0;
    for (int i = 0x10; i <= 0x2D; i++) {
        sum += rtc->cmos[i];                            /* standard checksum over 0x10-0x2D */
    }
    rtc->cmos[0x2E] = sum >> 8;
    rtc->cmos[0x2F] = sum & 0xFF;
}

void rtc_reset(void *opaque)
{
    Rtc *rtc = opaque;
    /* Datasheet, RESET pin: clears PIE, AIE, UIE, SQWE and the flags; the time and RAM survive. */
    rtc->cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | 0x08);
    rtc->cmos[RTC_REG_C] = 0;
    rtc_update_irq(rtc);
    rtc_schedule(rtc);
}

Rtc *rtc_create(Machine *m, IrqLine irq8)
{
    Rtc *rtc = g_new0(Rtc, 1);
    rtc->m = m;
    rtc->irq = irq8;
    rtc->timer = machine_timer_new(m, rtc_timer_cb, rtc);
    rtc->cmos[RTC_REG_A] = 0x26;                        /* 32.768 kHz time base, 1024 Hz periodic rate */
    rtc->cmos[RTC_REG_B] = REG_B_24H;                   /* BCD, 24-hour: what PC firmware leaves */
    rtc->cmos[RTC_REG_D] = 0x80;
    rtc->last_second = rtc_floor_div(rtc_guest_ns(rtc), NS_PER_S);
    rtc_fill_time(rtc);
    rtc_fill_cmos(rtc);
    rtc_restart_periodic(rtc);
    iobus_add(&m->pio, "rtc", 0x70, 2, &rtc_ops, rtc);
    return rtc;
}
