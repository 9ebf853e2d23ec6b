/*
 * Local APIC, xAPIC mode (Intel SDM vol. 3A, chapter 11 "Advanced Programmable Interrupt Controller").
 * Interrupts are accepted into IRR (TMR records level triggering), the CPU takes the highest one whose
 * priority class beats PPR (pc_cpu_interrupt_ack moves it to ISR), and an EOI retires the highest ISR
 * bit, broadcasting the vector to the I/O APIC when it was level triggered. IPIs are delivered at once:
 * ICR's delivery status always reads idle. The timer runs at 1 GHz before the divide configuration.
 */
#include "system/pc/devices/lapic.h"

#include "system/pc/accel.h"
#include "system/pc/devices/ioapic.h"
#include "system/pc/devices/pic.h"
#include "system/pc/iobus.h"
#include "system/pc/timer.h"

#define APIC_BASE_BSP    (1ull << 8)
#define APIC_BASE_EXTD   (1ull << 10)      /* x2APIC: not supported, setting it is #GP */
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_PHYS_BITS   40

#define APIC_VERSION     0x14              /* integrated xAPIC */
#define APIC_LVT_COUNT   6                 /* timer, thermal, perf, LINT0, LINT1, error: max LVT = 5 */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR };

#define LVT_MASKED       (1u << 16)
#define LVT_LEVEL        (1u << 15)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)
#define SVR_ENABLE       (1u << 8)

/* ESR bits (SDM "Error Status Register") */
#define ESR_SEND_ILLEGAL_VECTOR 0x20
#define ESR_RECV_ILLEGAL_VECTOR 0x40
#define ESR_ILLEGAL_REGISTER    0x80

/* Periodic timer interrupts faster than this only keep the host busy; the guest gets fewer. */
#define APIC_MIN_PERIOD_NS 10000

/* Writable bits of each LVT entry (delivery status and remote IRR are read-only). */
static const uint32_t lvt_wmask[APIC_LVT_COUNT] = {
    [LVT_TIMER] = 0x700FF, [LVT_THERMAL] = 0x107FF, [LVT_PERF] = 0x107FF,
    [LVT_LINT0] = 0x1A7FF, [LVT_LINT1] = 0x1A7FF, [LVT_ERROR] = 0x100FF,
};

struct LocalApic {
    Machine *m;
    Vcpu *v;
    struct Pic *pic;
    struct IoApic *ioapic;
    uint64_t apic_base;         /* IA32_APIC_BASE */
    uint32_t id, tpr, ldr, dfr, svr;
    uint32_t esr, esr_pending;  /* ESR reads what the last write latched from esr_pending */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[APIC_LVT_COUNT];
    uint32_t irr[8], isr[8], tmr[8];
    uint32_t timer_initial, timer_dcr;
    uint32_t timer_start_count; /* the count at timer_start_ns */
    unsigned timer_div_shift;   /* log2 of the divide configuration */
    int64_t timer_start_ns;
    bool timer_running;
    MachineTimer *timer;
    bool lint0_level;
    bool extint_pending;        /* an ExtINT message (I/O APIC) asks the CPU to take the PIC's vector */
};

static void vec_set(uint32_t *a, unsigned v) { a[v >> 5] |= 1u << (v & 31); }
static void vec_clear(uint32_t *a, unsigned v) { a[v >> 5] &= ~(1u << (v & 31)); }
static bool vec_test(const uint32_t *a, unsigned v) { return a[v >> 5] & (1u << (v & 31)); }

static int vec_highest(const uint32_t *a)
{
    for (int i = 7; i >= 0; i--) {
        if (a[i]) {
            return i * 32 + 31 - __builtin_clz(a[i]);
        }
    }
    return -1;
}

static bool lapic_hw_enabled(const LocalApic *s) { return s->apic_base & APIC_BASE_ENABLE; }
static bool lapic_sw_enabled(const LocalApic *s) { return s->svr & SVR_ENABLE; }
static uint8_t lapic_id(const LocalApic *s) { return s->id >> 24; }

/* PPR (SDM "Processor Priority Register"): TPR, or the in-service class if that is higher. */
static uint32_t lapic_ppr(const LocalApic *s)
{
    int isrv = vec_highest(s->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;
    return (s->tpr & 0xF0) >= isr_class ? s->tpr & 0xFF : isr_class;
}

/* APR: the priority this CPU arbitrates with for lowest-priority delivery. */
static uint32_t lapic_apr(const LocalApic *s)
{
    int irrv = vec_highest(s->irr), isrv = vec_highest(s->isr);
    uint32_t irr_class = irrv < 0 ? 0 : (uint32_t)irrv & 0xF0, isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;
    if ((s->tpr & 0xF0) >= irr_class && (s->tpr & 0xF0) >= isr_class) {
        return s->tpr & 0xFF;
    }
    return MAX(s->tpr & 0xF0, MAX(irr_class, isr_class));
}

/* The vector the CPU would take now, or -1 (SDM "Interrupt Acceptance for Fixed Interrupts"). */
static int lapic_deliverable(const LocalApic *s)
{
    int irrv = vec_highest(s->irr);
    if (irrv < 0 || ((uint32_t)irrv & 0xF0) <= (lapic_ppr(s) & 0xF0)) {
        return -1;
    }
    return irrv;
}

/* The PIC's INT reaches the CPU: through LINT0 in ExtINT (virtual wire) mode, through an ExtINT
   message, or directly when the APIC is hardware-disabled (INTR is then the plain LINT0 pin). */
static bool lapic_extint_ready(const LocalApic *s)
{
    if (!s->pic || !pic_output_level(s->pic)) {
        return false;
    }
    uint32_t lint0 = s->lvt[LVT_LINT0];
    return !lapic_hw_enabled(s) || s->extint_pending
           || (!(lint0 & LVT_MASKED) && ((lint0 >> 8) & 7) == APIC_DM_EXTINT);
}

static void lapic_kick(LocalApic *s)
{
    if (pc_cpu_interrupt_pending(s->v)) {
        vcpu_request(s->v, VCPU_REQ_INTERRUPT);
    }
}

static void lapic_accept_fixed(LocalApic *s, uint8_t vector, bool level);

static void lapic_error(LocalApic *s, uint32_t bits)
{
    s->esr_pending |= bits;
    uint32_t lvt = s->lvt[LVT_ERROR];
    if (!(lvt & LVT_MASKED) && (lvt & 0xFF) >= 16) {
        lapic_accept_fixed(s, lvt & 0xFF, false);
    }
}

static void lapic_accept_fixed(LocalApic *s, uint8_t vector, bool level)
{
    if (vector < 16) {
        /* Vectors 0-15 are reserved for exceptions: the receiver flags it and drops the message. */
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "apic %u: illegal vector %u received", lapic_id(s), vector);
        lapic_error(s, ESR_RECV_ILLEGAL_VECTOR);
        return;
    }
    vec_set(s->irr, vector);
    if (level) {
        vec_set(s->tmr, vector);
    } else {
        vec_clear(s->tmr, vector);
    }
    lapic_kick(s);
}

/* The power-on / INIT state of the registers (SDM "Local APIC State After Power-Up Reset" and
   "... After an INIT Reset"): everything but the ID and IA32_APIC_BASE. */
static void lapic_init_registers(LocalApic *s)
{
    s->tpr = s->ldr = s->esr = s->esr_pending = 0;
    s->svr = 0xFF;              /* software disabled, spurious vector 0xFF */
    s->dfr = 0xFFFFFFFF;
    s->icr_lo = s->icr_hi = 0;
    for (int i = 0; i < APIC_LVT_COUNT; i++) {
        s->lvt[i] = LVT_MASKED;
    }
    for (int i = 0; i < 8; i++) {
        s->irr[i] = s->isr[i] = s->tmr[i] = 0;
    }
    s->timer_initial = s->timer_dcr = s->timer_start_count = 0;
    s->timer_div_shift = 1;
    s->timer_running = false;
    s->extint_pending = false;
    machine_timer_del(s->timer);
}

static void lapic_accept(LocalApic *s, int mode, uint8_t vector, bool level)
{
    if (!lapic_hw_enabled(s)) {
        return;                 /* a hardware-disabled APIC does not take part in the APIC bus */
    }
    switch (mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        lapic_accept_fixed(s, vector, level);
        break;
    case APIC_DM_NMI:
        vcpu_request(s->v, VCPU_REQ_NMI);
        break;
    case APIC_DM_INIT:
        lapic_init_registers(s);
        vcpu_request(s->v, VCPU_REQ_INIT);
        break;
    case APIC_DM_SIPI:
        s->v->sipi_vector = vector;
        vcpu_request(s->v, VCPU_REQ_SIPI);
        break;
    case APIC_DM_EXTINT:
        s->extint_pending = true;
        lapic_kick(s);
        break;
    default:
        machine_log(s->m, MACHINE_LOG_UNIMP, "apic %u: delivery mode %d (SMI/reserved) ignored", lapic_id(s),
                    mode);
        break;
    }
}

/* Destination matching (SDM "Determining IPI Destination"): physical ID, or logical flat/cluster. */
static bool lapic_matches(const LocalApic *s, uint8_t dest, bool logical)
{
    if (dest == 0xFF) {
        return true;            /* broadcast in both modes */
    }
    if (!logical) {
        return dest == lapic_id(s);
    }
    uint8_t ldr = s->ldr >> 24;
    if ((s->dfr >> 28) == 0xF) {
        return (ldr & dest) != 0;                           /* flat: a bit per CPU */
    }
    return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0x0F);    /* cluster: 4-bit cluster, 4 CPUs */
}

static void apic_bus_send(Machine *m, LocalApic *from, int shorthand, uint8_t dest, bool logical, int mode,
                          uint8_t vector, bool level)
{
    LocalApic *targets[m->nr_vcpus > 0 ? m->nr_vcpus : 1];
    int n = 0;
    for (int i = 0; i < m->nr_vcpus; i++) {
        LocalApic *s = m->vcpus[i].apic;
        if (!s || !lapic_hw_enabled(s)) {
            continue;
        }
        bool hit;
        switch (shorthand) {
        case 1: hit = s == from; break;                     /* self */
        case 2: hit = true; break;                          /* all including self */
        case 3: hit = s != from; break;                     /* all excluding self */
        default: hit = lapic_matches(s, dest, logical); break;
        }
        if (hit) {
            targets[n++] = s;
        }
    }
    if (n == 0) {
        machine_log(m, MACHINE_LOG_GUEST_ERRORS, "apic: message to %s destination %#x reached no CPU",
                    logical ? "logical" : "physical", dest);
        return;
    }
    if (mode == APIC_DM_LOWEST) {
        /* Lowest priority: the target with the lowest arbitration priority; ties go to the lowest ID. */
        LocalApic *best = targets[0];
        for (int i = 1; i < n; i++) {
            if (lapic_apr(targets[i]) < lapic_apr(best)) {
                best = targets[i];
            }
        }
        targets[0] = best;
        n = 1;
    }
    for (int i = 0; i < n; i++) {
        lapic_accept(targets[i], mode, vector, level);
    }
}

void apic_bus_deliver(Machine *m, uint8_t dest, bool logical, int delivery_mode, uint8_t vector,
                      bool level_triggered)
{
    apic_bus_send(m, NULL, 0, dest, logical, delivery_mode, vector, level_triggered);
}

void pc_apic_deliver_msi(Machine *m, uint64_t address, uint32_t data)
{
    /* MSI address 0xFEExxxxx: destination ID in bits 19-12, DM in bit 2; data: vector, delivery mode,
       trigger mode in bit 15 (SDM "Message Signalled Interrupts"). */
    if ((address >> 20) != (PC_LAPIC_BASE >> 20)) {
        machine_log(m, MACHINE_LOG_GUEST_ERRORS, "msi: address %#llx is not an APIC address",
                    (unsigned long long)address);
        return;
    }
    int mode = (data >> 8) & 7;
    if (mode == APIC_DM_INIT || mode == APIC_DM_SIPI || mode == 3) {
        machine_log(m, MACHINE_LOG_GUEST_ERRORS, "msi: delivery mode %d not allowed", mode);
        return;
    }
    apic_bus_deliver(m, (address >> 12) & 0xFF, address & 4, mode, data & 0xFF, (data >> 15) & 1);
}

/* ICR low write: send the IPI it describes. */
static void lapic_send_ipi(LocalApic *s)
{
    uint32_t lo = s->icr_lo;
    int mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
    uint8_t vector = lo & 0xFF;
    bool logical = lo & 0x800, assert = lo & 0x4000, level = lo & 0x8000;
    if (mode == APIC_DM_INIT && !assert && level) {
        return;                 /* INIT level de-assert: only synchronizes arbitration IDs on old CPUs */
    }
    if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && vector < 16) {
        lapic_error(s, ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    if (mode == APIC_DM_EXTINT || mode == 3) {
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "apic %u: IPI delivery mode %d is invalid", lapic_id(s), mode);
        return;
    }
    apic_bus_send(s->m, s, shorthand, s->icr_hi >> 24, logical, mode, vector, level);
}

/* ---- timer ---- */

static uint32_t lapic_timer_count(const LocalApic *s, int64_t now)
{
    if (!s->timer_running) {
        return 0;
    }
    uint64_t ticks = (uint64_t)(now - s->timer_start_ns) >> s->timer_div_shift;
    if (ticks < s->timer_start_count) {
        return s->timer_start_count - (uint32_t)ticks;
    }
    if (!(s->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC) || !s->timer_initial) {
        return 0;
    }
    return s->timer_initial - (uint32_t)((ticks - s->timer_start_count) % s->timer_initial);
}

static void lapic_timer_schedule(LocalApic *s, int64_t now)
{
    if (!s->timer_running) {
        machine_timer_del(s->timer);
        return;
    }
    uint64_t ticks = (uint64_t)(now - s->timer_start_ns) >> s->timer_div_shift;
    uint64_t next = s->timer_start_count;               /* in ticks since timer_start_ns */
    if (ticks >= next && s->timer_initial && (s->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC)) {
        next += ((ticks - next) / s->timer_initial + 1) * s->timer_initial;
    }
    int64_t deadline = s->timer_start_ns + (int64_t)(next << s->timer_div_shift);
    bool fast = ((uint64_t)s->timer_initial << s->timer_div_shift) < APIC_MIN_PERIOD_NS;
    if ((s->lvt[LVT_TIMER] & LVT_TIMER_PERIODIC) && fast && deadline < now + APIC_MIN_PERIOD_NS) {
        deadline = now + APIC_MIN_PERIOD_NS;
    }
    machine_timer_mod(s->timer, deadline);
}

static void lapic_timer_cb(void *opaque)
{
    LocalApic *s = opaque;
    int64_t now = machine_clock_ns();
    uint32_t lvt = s->lvt[LVT_TIMER];
    if (!(lvt & LVT_MASKED) && lapic_hw_enabled(s)) {
        lapic_accept_fixed(s, lvt & 0xFF, false);
    }
    if (lvt & LVT_TIMER_PERIODIC) {
        lapic_timer_schedule(s, now);
    } else {
        s->timer_running = false;   /* one-shot: the current count stays 0 */
    }
}

static void lapic_timer_start(LocalApic *s, uint32_t count, int64_t now)
{
    s->timer_start_ns = now;
    s->timer_start_count = count;
    s->timer_running = count != 0;
    lapic_timer_schedule(s, now);
}

static void lapic_set_dcr(LocalApic *s, uint32_t val)
{
    int64_t now = machine_clock_ns();
    uint32_t remaining = lapic_timer_count(s, now);
    s->timer_dcr = val & 0xB;
    /* Divide value: bits 3, 1, 0; 0b111 divides by 1, otherwise by 2^(value + 1). */
    unsigned code = (s->timer_dcr & 3) | ((s->timer_dcr >> 1) & 4);
    s->timer_div_shift = (code + 1) & 7;
    if (s->timer_running) {
        lapic_timer_start(s, remaining, now);   /* the rest of the count at the new rate */
    }
}

/* ---- registers ---- */

static uint32_t lapic_read_reg(LocalApic *s, unsigned reg)
{
    switch (reg) {
    case 0x02: return s->id;
    case 0x03: return APIC_VERSION | (APIC_LVT_COUNT - 1) << 16;
    case 0x08: return s->tpr;
    case 0x09: return lapic_apr(s);
    case 0x0A: return lapic_ppr(s);
    case 0x0B: return 0;                                        /* EOI is write-only */
    case 0x0D: return s->ldr;
    case 0x0E: return s->dfr;
    case 0x0F: return s->svr;
    case 0x10 ... 0x17: return s->isr[reg - 0x10];
    case 0x18 ... 0x1F: return s->tmr[reg - 0x18];
    case 0x20 ... 0x27: return s->irr[reg - 0x20];
    case 0x28: return s->esr;
    case 0x30: return s->icr_lo;                                /* delivery status: always idle */
    case 0x31: return s->icr_hi;
    case 0x32 ... 0x37: return s->lvt[reg - 0x32];
    case 0x38: return s->timer_initial;
    case 0x39: return lapic_timer_count(s, machine_clock_ns());
    case 0x3E: return s->timer_dcr;
    default:
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "apic %u: read of reserved register %#x", lapic_id(s),
                    reg << 4);
        return 0;
    }
}

static void lapic_eoi(LocalApic *s)
{
    int vector = vec_highest(s->isr);
    if (vector < 0) {
        return;                 /* an EOI with nothing in service is ignored */
    }
    vec_clear(s->isr, vector);
    if (vec_test(s->tmr, vector) && s->ioapic) {
        ioapic_eoi(s->ioapic, vector);   /* level triggered: the I/O APIC may clear its remote IRR */
    }
    lapic_kick(s);
}

static void lapic_write_svr(LocalApic *s, uint32_t val)
{
    s->svr = val & 0x3FF;       /* spurious vector, APIC software enable, focus processor checking */
    if (!lapic_sw_enabled(s)) {
        /* SDM: while software-disabled, every LVT mask bit is set and cannot be cleared. */
        for (int i = 0; i < APIC_LVT_COUNT; i++) {
            s->lvt[i] |= LVT_MASKED;
        }
    }
    lapic_kick(s);
}

static void lapic_write_lvt(LocalApic *s, int idx, uint32_t val)
{
    uint32_t v = (s->lvt[idx] & ~lvt_wmask[idx]) | (val & lvt_wmask[idx]);
    if (!lapic_sw_enabled(s)) {
        v |= LVT_MASKED;
    }
    if (idx == LVT_TIMER && (v & (3u << 17)) == LVT_TIMER_TSC_DEADLINE) {
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "apic %u: TSC-deadline mode is not advertised", lapic_id(s));
        v &= ~(3u << 17);
    }
    bool mode_change = idx == LVT_TIMER && ((v ^ s->lvt[idx]) & LVT_TIMER_PERIODIC);
    s->lvt[idx] = v;
    if (mode_change) {
        lapic_timer_schedule(s, machine_clock_ns());    /* one-shot <-> periodic changes the next expiry */
    }
    if (idx == LVT_LINT0) {
        lapic_kick(s);          /* virtual-wire mode may have just opened for a pending PIC interrupt */
    }
}

static void lapic_write_reg(LocalApic *s, unsigned reg, uint32_t val)
{
    switch (reg) {
    case 0x02: s->id = val & 0xFF000000; break;
    case 0x08:
        s->tpr = val & 0xFF;
        lapic_kick(s);
        break;
    case 0x0B: lapic_eoi(s); break;
    case 0x0D: s->ldr = val & 0xFF000000; break;
    case 0x0E: s->dfr = val | 0x0FFFFFFF; break;
    case 0x0F: lapic_write_svr(s, val); break;
    case 0x28:
        s->esr = s->esr_pending;    /* a write latches the errors seen since the last write */
        s->esr_pending = 0;
        break;
    case 0x30:
        s->icr_lo = val & 0xCCFFF;
        lapic_send_ipi(s);
        break;
    case 0x31: s->icr_hi = val & 0xFF000000; break;
    case 0x32 ... 0x37: lapic_write_lvt(s, reg - 0x32, val); break;
    case 0x38:
        s->timer_initial = val;
        lapic_timer_start(s, val, machine_clock_ns());
        break;
    case 0x3E: lapic_set_dcr(s, val); break;
    case 0x03: case 0x09: case 0x0A: case 0x0C: case 0x10 ... 0x27: case 0x39:
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "apic %u: write to read-only register %#x", lapic_id(s),
                    reg << 4);
        break;
    default:
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "apic %u: write to reserved register %#x", lapic_id(s),
                    reg << 4);
        lapic_error(s, ESR_ILLEGAL_REGISTER);
        break;
    }
}

/* The MMIO page is per CPU: find the accessing CPU's APIC. */
static LocalApic *lapic_current(Machine *m)
{
    Vcpu *v = vcpu_current;
    if (v && v->machine == m && v->apic) {
        return v->apic;
    }
    machine_log(m, MACHINE_LOG_GUEST_ERRORS, "apic: MMIO access from outside a vCPU; using CPU 0's");
    return m->nr_vcpus > 0 ? m->vcpus[0].apic : NULL;
}

static uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    LocalApic *s = lapic_current(opaque);
    if (!s || !lapic_hw_enabled(s)) {
        return 0;
    }
    uint64_t v = lapic_read_reg(s, offset >> 4);
    /* Registers are 32 bits at 16-byte strides; a narrower read sees part of one. */
    return (offset & 0xF) < 4 ? v >> (8 * (offset & 3)) : 0;
}

static void lapic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    LocalApic *s = lapic_current(opaque);
    if (!s || !lapic_hw_enabled(s)) {
        return;
    }
    if ((offset & 0xF) != 0 || size < 4) {
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "apic %u: %u-byte write at %#llx ignored", lapic_id(s), size,
                    (unsigned long long)offset);
        return;
    }
    lapic_write_reg(s, offset >> 4, (uint32_t)value);
}

static const IoOps lapic_mmio_ops = { .read = lapic_mmio_read, .write = lapic_mmio_write };

void lapic_register_mmio(Machine *m)
{
    iobus_add(&m->mmio, "local-apic", PC_LAPIC_BASE, 0x1000, &lapic_mmio_ops, m);
}

void lapic_set_lint0(LocalApic *s, bool level)
{
    bool rising = level && !s->lint0_level;
    s->lint0_level = level;
    uint32_t lvt = s->lvt[LVT_LINT0];
    int mode = (lvt >> 8) & 7;
    if (lapic_hw_enabled(s) && !(lvt & LVT_MASKED) && rising) {
        if (mode == APIC_DM_FIXED) {
            lapic_accept_fixed(s, lvt & 0xFF, lvt & LVT_LEVEL);
        } else if (mode == APIC_DM_NMI) {
            vcpu_request(s->v, VCPU_REQ_NMI);
        }
    }
    lapic_kick(s);              /* ExtINT / hardware-disabled: the PIC's INT is the CPU's INTR */
}

void lapic_reset(void *opaque)
{
    LocalApic *s = opaque;
    bool bsp = s->v->index == 0;
    s->id = (uint32_t)s->v->index << 24;
    s->apic_base = PC_LAPIC_BASE | APIC_BASE_ENABLE | (bsp ? APIC_BASE_BSP : 0);
    lapic_init_registers(s);
    if (bsp) {
        /* Firmware leaves the BSP in virtual-wire mode: the PIC through LINT0 as ExtINT, LINT1 as NMI.
           Without a BIOS we start there, so the PIC works before the OS programs the APIC. */
        s->lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
        s->lvt[LVT_LINT1] = APIC_DM_NMI << 8;
    }
}

LocalApic *lapic_create(Machine *m, Vcpu *v, struct Pic *pic, struct IoApic *ioapic)
{
    LocalApic *s = g_new0(LocalApic, 1);
    s->m = m;
    s->v = v;
    s->pic = pic;
    s->ioapic = ioapic;
    s->timer = machine_timer_new(m, lapic_timer_cb, s);
    lapic_reset(s);
    return s;
}

/* ---- the CPU's side (accel.h) ---- */

bool pc_cpu_interrupt_pending(Vcpu *v)
{
    LocalApic *s = v->apic;
    if (!s) {
        return false;
    }
    if (lapic_extint_ready(s)) {
        return true;
    }
    return lapic_hw_enabled(s) && lapic_deliverable(s) >= 0;
}

int pc_cpu_interrupt_ack(Vcpu *v)
{
    LocalApic *s = v->apic;
    if (!s) {
        return -1;
    }
    int vector;
    if (lapic_extint_ready(s)) {
        s->extint_pending = false;
        vector = pic_intack(s->pic);    /* the INTA cycle goes to the 8259 */
    } else {
        vector = lapic_deliverable(s);
        if (vector < 0) {
            /* Masked by a TPR raise between "pending" and the INTA: the spurious vector. */
            return s->svr & 0xFF;
        }
        vec_clear(s->irr, vector);
        vec_set(s->isr, vector);
    }
    lapic_kick(s);                      /* the CPU consumed the request; another may be waiting */
    return vector;
}

uint64_t pc_cpu_apic_base(Vcpu *v)
{
    return v->apic ? v->apic->apic_base : PC_LAPIC_BASE | APIC_BASE_ENABLE | (v->index == 0 ? APIC_BASE_BSP : 0);
}

bool pc_cpu_set_apic_base(Vcpu *v, uint64_t value)
{
    LocalApic *s = v->apic;
    uint64_t reserved = 0xFFull | (1ull << 9) | APIC_BASE_EXTD | ~((1ull << APIC_PHYS_BITS) - 1);
    if (value & reserved) {
        return false;           /* #GP: reserved bits, or x2APIC which we do not advertise */
    }
    if (!s) {
        return true;
    }
    if ((value & ~0xFFFull) != PC_LAPIC_BASE) {
        machine_log(s->m, MACHINE_LOG_UNIMP, "apic %u: relocating the APIC to %#llx is not supported",
                    lapic_id(s), (unsigned long long)(value & ~0xFFFull));
    }
    bool was_enabled = lapic_hw_enabled(s);
    /* The BSP flag is read-only; the base stays where the MMIO page is. */
    s->apic_base = (s->apic_base & ~APIC_BASE_ENABLE) | (value & APIC_BASE_ENABLE);
    if (was_enabled && !lapic_hw_enabled(s)) {
        lapic_init_registers(s);    /* SDM: re-enabling later finds the power-up state */
    }
    lapic_kick(s);
    return true;
}

uint8_t pc_cpu_get_tpr(Vcpu *v)
{
    return v->apic ? (v->apic->tpr >> 4) & 0xF : 0;
}

void pc_cpu_set_tpr(Vcpu *v, uint8_t cr8)
{
    if (v->apic) {
        v->apic->tpr = (uint32_t)(cr8 & 0xF) << 4;   /* CR8[3:0] is TPR[7:4] */
        lapic_kick(v->apic);
    }
}
