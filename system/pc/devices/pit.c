/*
 * Intel 8254 PIT (datasheet order no. 231164). Counters are computed from the host clock rather than
 * ticked: a counter remembers how many input clocks (1.193182 MHz) it had counted when it last stopped
 * and when it last started, so a read gives the count the guest would see at that instant. Only
 * counter 0 raises an interrupt (IRQ 0), from a machine timer armed at its OUT's next rising edge.
 * Counter 2's gate is port 0x61 bit 0; counters 0 and 1 have their gates tied high as on a PC.
 */
#include "system/pc/devices/pit.h"

#include "system/pc/timer.h"

/* Periodic IRQ 0 faster than this would only keep the host busy; the guest sees fewer ticks. */
#define PIT_MIN_PERIOD_NS 20000

typedef struct PitCounter {
    struct Pit *pit;
    int index;
    uint8_t mode, rw, bcd;      /* control word: RW1-RW0 (1 LSB, 2 MSB, 3 LSB then MSB), M2-M0, BCD */
    uint32_t reload;            /* N, with 0 already turned into 65536 (10000 in BCD) */
    bool loaded;                /* a count was written since the control word */
    bool triggered;             /* modes 1 and 5: the gate's rising edge started the count */
    bool running;               /* counting now (loaded, gate permitting) */
    bool gate;
    bool null_count;
    bool out_low_until_tc;      /* mode 0 after a control word: OUT low with no count yet */
    uint64_t ticks_before;      /* clocks counted before run_start_ns */
    int64_t run_start_ns;
    bool write_msb_next, read_msb_next;
    uint8_t write_lsb;
    bool count_latched, status_latched;
    uint16_t latch;
    uint8_t latch_bytes;        /* bytes of the latched count still to read */
    uint8_t status;
    bool irq_level;             /* counter 0: what we last drove on IRQ 0 */
    MachineTimer *timer;        /* counter 0 only */
} PitCounter;

struct Pit {
    Machine *m;
    IrqLine irq0;
    PitCounter c[3];
    uint8_t port61;             /* bits 0-3 as written */
};

static uint64_t pit_ns_to_ticks(int64_t ns)
{
    return ns <= 0 ? 0 : (uint64_t)((unsigned __int128)ns * PIT_FREQ_HZ / 1000000000u);
}

static int64_t pit_ticks_to_ns(uint64_t ticks)
{
    return (int64_t)(((unsigned __int128)ticks * 1000000000u + PIT_FREQ_HZ - 1) / PIT_FREQ_HZ);
}

static uint16_t pit_to_bcd(uint32_t v)
{
    return (v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12;
}

static uint32_t pit_from_bcd(uint16_t v)
{
    return (v & 15) + (v >> 4 & 15) * 10 + (v >> 8 & 15) * 100 + (v >> 12 & 15) * 1000;
}

static uint64_t pit_elapsed(const PitCounter *c, int64_t now)
{
    return c->ticks_before + (c->running ? pit_ns_to_ticks(now - c->run_start_ns) : 0);
}

/* The counting element and OUT at `now`, per mode (datasheet, "Mode definitions"). */
static void pit_state(const PitCounter *c, int64_t now, uint32_t *count, bool *out)
{
    uint32_t n = c->reload, wrap = c->bcd ? 10000 : 65536;
    if (!c->loaded || ((c->mode == 1 || c->mode == 5) && !c->triggered)) {
        *count = n % wrap;
        *out = !c->out_low_until_tc;
        return;
    }
    uint64_t e = pit_elapsed(c, now);
    switch (c->mode) {
    case 0: /* interrupt on terminal count: OUT low until the count reaches 0, then high; keeps counting */
    case 1: /* hardware one-shot: the same after the trigger */
        *count = (uint32_t)((n + wrap - e % wrap) % wrap);
        *out = e >= n;
        break;
    case 2: { /* rate generator: N, N-1, ..., 1 (OUT low for that clock), reload */
        uint32_t phase = e % n;
        *count = n - phase;
        *out = *count != 1 || n == 1;
        break;
    }
    case 3: { /* square wave: OUT high for ceil(N/2) clocks, low for floor(N/2); counts down by two */
        uint32_t phase = e % n, half = (n + 1) / 2;
        *out = phase < half;
        *count = (n - 2 * (*out ? phase : phase - half)) & ~1u;
        break;
    }
    default: /* 4, 5: strobe: OUT low for the one clock at terminal count */
        *count = (uint32_t)((n + wrap - e % wrap) % wrap);
        *out = e != n;
        break;
    }
    if (!c->gate && (c->mode == 2 || c->mode == 3)) {
        *out = true;            /* gate low forces OUT high in modes 2 and 3 */
    }
    *count %= wrap;
}

static void pit_set_irq0(Pit *pit, bool level)
{
    PitCounter *c = &pit->c[0];
    c->irq_level = level;
    irq_set(&pit->irq0, level);
}

/* Counter 0: arm the timer at OUT's next rising edge, the moment IRQ 0 is raised. */
static void pit_schedule(PitCounter *c, int64_t now)
{
    if (!c->timer) {
        return;
    }
    if (!c->running) {
        machine_timer_del(c->timer);
        return;
    }
    uint64_t e = pit_elapsed(c, now), n = c->reload, next;
    switch (c->mode) {
    case 2:
    case 3:
        next = (e / n + 1) * n;
        break;
    case 0:
    case 4:
        if (e >= n) {
            machine_timer_del(c->timer);
            return;
        }
        next = n;
        break;
    default:
        machine_timer_del(c->timer);    /* modes 1 and 5 need a gate edge counter 0 never gets */
        return;
    }
    int64_t deadline = c->run_start_ns + pit_ticks_to_ns(next - c->ticks_before);
    if ((c->mode == 2 || c->mode == 3) && deadline < now + PIT_MIN_PERIOD_NS) {
        deadline = now + PIT_MIN_PERIOD_NS;
    }
    machine_timer_mod(c->timer, deadline);
}

static void pit_timer_cb(void *opaque)
{
    PitCounter *c = opaque;
    Pit *pit = c->pit;
    int64_t now = machine_clock_ns();
    if (c->mode == 0) {
        pit_set_irq0(pit, true);        /* OUT stays high until the guest writes a new count */
    } else {
        irq_pulse(&pit->irq0);          /* modes 2, 3, 4: one rising edge per period / at TC */
        c->irq_level = false;
    }
    pit_schedule(c, now);
}

static void pit_start(PitCounter *c, int64_t now)
{
    c->ticks_before = 0;
    c->run_start_ns = now;
    /* Modes 1 and 5 count once triggered whatever the gate does next; the others count while it is high
       (modes 0 and 4 pause, modes 2 and 3 restart at its rising edge). */
    c->running = (c->mode == 1 || c->mode == 5) ? c->triggered : c->gate;
}

static void pit_load(PitCounter *c, uint16_t value)
{
    int64_t now = machine_clock_ns();
    uint32_t wrap = c->bcd ? 10000 : 65536;
    c->reload = c->bcd ? pit_from_bcd(value) : value;
    if (c->reload == 0) {
        c->reload = wrap;
    }
    if (c->reload == 1 && (c->mode == 2 || c->mode == 3)) {
        machine_log(c->pit->m, MACHINE_LOG_GUEST_ERRORS, "pit: count 1 is illegal in mode %d", c->mode);
    }
    c->loaded = true;
    c->null_count = false;
    c->out_low_until_tc = false;
    if (c->index == 0 && c->mode == 0 && c->irq_level) {
        pit_set_irq0(c->pit, false);    /* mode 0: writing a count drives OUT low */
    }
    pit_start(c, now);
    pit_schedule(c, now);
}

static void pit_write_count(PitCounter *c, uint8_t val)
{
    switch (c->rw) {
    case 1:
        pit_load(c, val);
        break;
    case 2:
        pit_load(c, (uint16_t)val << 8);
        break;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = val;
            c->write_msb_next = true;
            if (c->mode == 0) {
                /* Datasheet: in mode 0, writing the first byte stops the count. */
                c->running = false;
                c->loaded = false;
                c->out_low_until_tc = true;
                if (c->index == 0 && c->irq_level) {
                    pit_set_irq0(c->pit, false);
                }
                pit_schedule(c, 0);
            }
        } else {
            c->write_msb_next = false;
            pit_load(c, c->write_lsb | (uint16_t)val << 8);
        }
        break;
    }
}

static uint16_t pit_current_count(PitCounter *c)
{
    uint32_t count;
    bool out;
    pit_state(c, machine_clock_ns(), &count, &out);
    return c->bcd ? pit_to_bcd(count) : (uint16_t)count;
}

static uint8_t pit_read_count(PitCounter *c)
{
    if (c->status_latched) {
        c->status_latched = false;      /* the status byte comes first (read-back command) */
        return c->status;
    }
    if (c->count_latched) {
        uint8_t v;
        if (c->rw == 2 || (c->rw == 3 && c->latch_bytes == 1)) {
            v = c->latch >> 8;
        } else {
            v = c->latch & 0xFF;
        }
        if (--c->latch_bytes == 0) {
            c->count_latched = false;
        }
        return v;
    }
    uint16_t count = pit_current_count(c);
    switch (c->rw) {
    case 1: return count & 0xFF;
    case 2: return count >> 8;
    default:
        c->read_msb_next = !c->read_msb_next;
        return c->read_msb_next ? (count & 0xFF) : (count >> 8);
    }
}

static void pit_latch_count(PitCounter *c)
{
    if (c->count_latched) {
        return;                 /* datasheet: further latch commands are ignored until it is read */
    }
    c->latch = pit_current_count(c);
    c->latch_bytes = c->rw == 3 ? 2 : 1;
    c->count_latched = true;
}

static void pit_latch_status(PitCounter *c)
{
    if (c->status_latched) {
        return;
    }
    uint32_t count;
    bool out;
    pit_state(c, machine_clock_ns(), &count, &out);
    c->status = (out ? 0x80 : 0) | (c->null_count ? 0x40 : 0) | c->rw << 4 | c->mode << 1 | c->bcd;
    c->status_latched = true;
}

static void pit_control(Pit *pit, uint8_t val)
{
    int sc = val >> 6;
    if (sc == 3) {
        /* Read-back: bit 5 = 0 latches the counts, bit 4 = 0 the status, bits 1-3 select counters. */
        for (int i = 0; i < 3; i++) {
            if (val & (2 << i)) {
                if (!(val & 0x10)) {
                    pit_latch_status(&pit->c[i]);
                }
                if (!(val & 0x20)) {
                    pit_latch_count(&pit->c[i]);
                }
            }
        }
        return;
    }
    PitCounter *c = &pit->c[sc];
    int rw = (val >> 4) & 3;
    if (rw == 0) {
        pit_latch_count(c);
        return;
    }
    c->rw = rw;
    c->mode = (val >> 1) & 7;
    if (c->mode >= 6) {
        c->mode -= 4;           /* M2 is "don't care" for modes 2 and 3 */
    }
    c->bcd = val & 1;
    c->loaded = c->triggered = c->running = false;
    c->null_count = true;
    c->write_msb_next = c->read_msb_next = false;
    c->count_latched = c->status_latched = false;
    c->out_low_until_tc = c->mode == 0;     /* OUT goes low in mode 0, high in every other mode */
    if (sc == 0) {
        pit_set_irq0(pit, false);
        pit_schedule(c, 0);
    }
}

static uint64_t pit_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    Pit *pit = opaque;
    if (offset == 3) {
        return 0xFF;            /* the control word register cannot be read */
    }
    return pit_read_count(&pit->c[offset]);
}

static void pit_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)size;
    Pit *pit = opaque;
    if (offset == 3) {
        pit_control(pit, value);
    } else {
        pit_write_count(&pit->c[offset], value);
    }
}

static void pit_set_gate(PitCounter *c, bool gate)
{
    if (gate == c->gate) {
        return;
    }
    int64_t now = machine_clock_ns();
    if (gate) {
        if (c->mode == 1 || c->mode == 5 || c->mode == 2 || c->mode == 3) {
            c->triggered = true;        /* rising edge: (re)trigger / reload */
            c->gate = true;
            if (c->loaded) {
                pit_start(c, now);
            }
        } else {
            c->gate = true;             /* modes 0, 4: resume counting */
            if (c->loaded) {
                c->run_start_ns = now;
                c->running = true;
            }
        }
    } else {
        if (c->running && c->mode != 1 && c->mode != 5) {
            c->ticks_before = pit_elapsed(c, now);
            c->running = false;
        }
        c->gate = false;
    }
}

/* Port 0x61: bits 0-3 read back as written, bit 4 toggles with DRAM refresh (15 us), bit 5 is OUT2. */
static uint64_t pit_port61_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)offset;
    (void)size;
    Pit *pit = opaque;
    uint32_t count;
    bool out2;
    int64_t now = machine_clock_ns();
    pit_state(&pit->c[2], now, &count, &out2);
    bool refresh = (now / 15085) & 1;
    return (pit->port61 & 0x0F) | (refresh ? 0x10 : 0) | (out2 ? 0x20 : 0);
}

static void pit_port61_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)offset;
    (void)size;
    Pit *pit = opaque;
    pit->port61 = value & 0x0F;
    pit_set_gate(&pit->c[2], value & 1);
}

static const IoOps pit_ops = { .read = pit_read, .write = pit_write };
static const IoOps pit_port61_ops = { .read = pit_port61_read, .write = pit_port61_write };

void pit_reset(void *opaque)
{
    Pit *pit = opaque;
    for (int i = 0; i < 3; i++) {
        PitCounter *c = &pit->c[i];
        MachineTimer *t = c->timer;
        *c = (PitCounter){ .pit = pit, .index = i, .timer = t, .gate = i != 2, .rw = 3, .reload = 65536 };
        if (t) {
            machine_timer_del(t);
        }
    }
    pit->port61 = 0;
    pit_set_irq0(pit, false);
}

Pit *pit_create(Machine *m, IrqLine irq0)
{
    Pit *pit = g_new0(Pit, 1);
    pit->m = m;
    pit->irq0 = irq0;
    pit->c[0].timer = machine_timer_new(m, pit_timer_cb, &pit->c[0]);
    pit_reset(pit);
    iobus_add(&m->pio, "pit", 0x40, 4, &pit_ops, pit);
    iobus_add(&m->pio, "port61", 0x61, 1, &pit_port61_ops, pit);
    return pit;
}
