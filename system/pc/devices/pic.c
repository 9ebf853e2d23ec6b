/*
 * Intel 8259A PIC pair as wired in every PC (8259A datasheet, order no. 231468): the slave's INT drives
 * the master's IR2, the master's INT goes to the CPU. Edge or level sensitivity per input comes from the
 * chipset's ELCR registers (PIIX/ICH) rather than ICW1's LTIM bit, as on every PC since the PCI era.
 */
#include "system/pc/devices/pic.h"

#include "system/pc/iobus.h"

#define PIC_CASCADE_IR 2

typedef struct PicChip {
    uint8_t irr, isr, imr;
    uint8_t lines;              /* input levels as the devices drive them */
    uint8_t elcr, elcr_mask;    /* 1 = level sensitive; the mask says which bits the chipset lets change */
    uint8_t vector_base;        /* ICW2 T7-T3 */
    uint8_t lowest;             /* the IR with the lowest priority (7 unless rotated) */
    uint8_t icw3;
    uint8_t init_step;          /* 0: operational; 2, 3, 4: the next byte at the odd port is that ICW */
    bool icw4_needed, single;
    bool auto_eoi, rotate_on_aeoi, special_fully_nested;
    bool read_isr, poll, special_mask;
} PicChip;

struct Pic {
    Machine *m;
    PicChip chip[2];            /* [0] master, [1] slave */
    IrqLine output;
    bool out_level;
};

/* 0 is the highest priority; the IR after `lowest` has it (datasheet: "rotation"). */
static int pic_rank(const PicChip *c, int ir) { return (ir - c->lowest - 1) & 7; }

static int pic_highest(const PicChip *c, uint8_t bits)
{
    for (int i = 0; i < 8; i++) {
        int ir = (c->lowest + 1 + i) & 7;
        if (bits & (1u << ir)) {
            return ir;
        }
    }
    return -1;
}

/* The request the chip presents on INT: the highest unmasked one that outranks everything in service. */
static int pic_chip_request(const PicChip *c, bool master)
{
    int ir = pic_highest(c, c->irr & ~c->imr);
    if (ir < 0) {
        return -1;
    }
    uint8_t isr = c->isr;
    if (c->special_mask) {
        isr &= ~c->imr;         /* special mask mode: masked levels do not inhibit lower ones */
    }
    if (master && c->special_fully_nested) {
        isr &= ~(1u << PIC_CASCADE_IR);   /* SFNM: the slave may interrupt a slave IRQ in service */
    }
    int busy = pic_highest(c, isr);
    if (busy >= 0 && pic_rank(c, busy) <= pic_rank(c, ir)) {
        return -1;
    }
    return ir;
}

static void pic_chip_input(PicChip *c, int ir, int level)
{
    uint8_t bit = 1u << ir;
    if (c->elcr & bit) {
        c->irr = level ? (c->irr | bit) : (c->irr & ~bit);
    } else if (level && !(c->lines & bit)) {
        /* Edge mode latches the rising edge; a device's quick pulse stays requested until INTA. */
        c->irr |= bit;
    }
    c->lines = level ? (c->lines | bit) : (c->lines & ~bit);
}

static void pic_update(Pic *pic)
{
    pic_chip_input(&pic->chip[0], PIC_CASCADE_IR, pic_chip_request(&pic->chip[1], false) >= 0);
    bool level = pic_chip_request(&pic->chip[0], true) >= 0;
    if (level != pic->out_level || level) {
        pic->out_level = level;
        irq_set(&pic->output, level);
    }
}

bool pic_output_level(const Pic *pic) { return pic->out_level; }

static void pic_irq_handler(void *opaque, int n, int level)
{
    Pic *pic = opaque;
    if (n < 0 || n >= 16 || n == PIC_CASCADE_IR) {
        return;                 /* IR2 is the cascade; nothing else may drive it */
    }
    pic_chip_input(&pic->chip[n >> 3], n & 7, level);
    pic_update(pic);
}

IrqLine pic_input(Pic *pic, int irq) { return (IrqLine){ .handler = pic_irq_handler, .opaque = pic, .n = irq }; }

/* INTA on one chip: the request moves from IRR to ISR (unless auto-EOI). */
static void pic_chip_ack(PicChip *c, int ir)
{
    uint8_t bit = 1u << ir;
    if (!(c->elcr & bit)) {
        c->irr &= ~bit;         /* the edge latch is consumed; a level input keeps requesting */
    }
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi) {
            c->lowest = ir;
        }
    } else {
        c->isr |= bit;
    }
}

uint8_t pic_intack(Pic *pic)
{
    PicChip *master = &pic->chip[0], *slave = &pic->chip[1];
    uint8_t vector;
    int ir = pic_chip_request(master, true);
    if (ir < 0) {
        /* Datasheet: a request that vanished before INTA yields IR7's vector without setting ISR. */
        vector = master->vector_base + 7;
    } else {
        pic_chip_ack(master, ir);
        if (ir == PIC_CASCADE_IR) {
            int sir = pic_chip_request(slave, false);
            if (sir < 0) {
                vector = slave->vector_base + 7;   /* spurious IRQ 15; the master's IR2 stays in service */
            } else {
                pic_chip_ack(slave, sir);
                vector = slave->vector_base + sir;
            }
        } else {
            vector = master->vector_base + ir;
        }
    }
    pic_update(pic);
    return vector;
}

static void pic_ocw2(PicChip *c, uint8_t val)
{
    int level = val & 7;
    int busy = pic_highest(c, c->isr);
    switch (val >> 5) {
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */
        if (busy >= 0) {
            c->isr &= ~(1u << busy);
            if (val >> 5 == 5) {
                c->lowest = busy;
            }
        }
        break;
    case 3: /* specific EOI */
    case 7: /* rotate on specific EOI */
        c->isr &= ~(1u << level);
        if (val >> 5 == 7) {
            c->lowest = level;
        }
        break;
    case 4: c->rotate_on_aeoi = true; break;
    case 0: c->rotate_on_aeoi = false; break;
    case 6: c->lowest = level; break;   /* set priority */
    default: break;                     /* 2: no operation */
    }
}

static void pic_icw1(Pic *pic, PicChip *c, uint8_t val)
{
    if (val & 0x08) {
        machine_log(pic->m, MACHINE_LOG_UNIMP, "pic: ICW1 LTIM ignored; the ELCR selects level mode");
    }
    /* Datasheet, ICW1: edge sense reset, IMR cleared, IR7 lowest, special mask off, status read = IRR,
       and ICW4's functions zero unless IC4 asks for ICW4. */
    c->irr = c->lines & c->elcr;
    c->isr = 0;
    c->imr = 0;
    c->lowest = 7;
    c->special_mask = false;
    c->read_isr = false;
    c->poll = false;
    c->auto_eoi = c->rotate_on_aeoi = c->special_fully_nested = false;
    c->icw4_needed = val & 1;
    c->single = val & 2;
    c->init_step = 2;
}

static void pic_write_odd(Pic *pic, PicChip *c, uint8_t val)
{
    switch (c->init_step) {
    case 2:
        c->vector_base = val & 0xF8;
        c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
        break;
    case 3:
        c->icw3 = val;
        c->init_step = c->icw4_needed ? 4 : 0;
        break;
    case 4:
        if (!(val & 1)) {
            machine_log(pic->m, MACHINE_LOG_UNIMP, "pic: ICW4 without 8086 mode; treated as 8086 mode");
        }
        c->auto_eoi = val & 2;
        c->special_fully_nested = val & 0x10;
        c->init_step = 0;
        break;
    default:
        c->imr = val;           /* OCW1 */
        break;
    }
}

static void pic_chip_write(Pic *pic, PicChip *c, uint64_t offset, uint8_t val)
{
    if (offset == 1) {
        pic_write_odd(pic, c, val);
    } else if (val & 0x10) {
        pic_icw1(pic, c, val);
    } else if (val & 0x08) {
        /* OCW3: poll command, register read select, special mask mode */
        if (val & 0x04) {
            c->poll = true;
        }
        if (val & 0x02) {
            c->read_isr = val & 0x01;
        }
        if (val & 0x40) {
            c->special_mask = val & 0x20;
        }
    } else {
        pic_ocw2(c, val);
    }
    pic_update(pic);
}

static uint8_t pic_chip_read(Pic *pic, PicChip *c, uint64_t offset)
{
    if (offset == 1) {
        return c->imr;
    }
    if (c->poll) {
        /* Poll mode: this read is the INTA; bit 7 says whether there was a request, bits 2-0 which. */
        c->poll = false;
        int ir = pic_chip_request(c, c == &pic->chip[0]);
        if (ir < 0) {
            return 0;
        }
        pic_chip_ack(c, ir);
        pic_update(pic);
        return 0x80 | ir;
    }
    return c->read_isr ? c->isr : c->irr;
}

static uint64_t pic_master_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    Pic *pic = opaque;
    return pic_chip_read(pic, &pic->chip[0], offset);
}

static void pic_master_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)size;
    Pic *pic = opaque;
    pic_chip_write(pic, &pic->chip[0], offset, value);
}

static uint64_t pic_slave_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    Pic *pic = opaque;
    return pic_chip_read(pic, &pic->chip[1], offset);
}

static void pic_slave_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)size;
    Pic *pic = opaque;
    pic_chip_write(pic, &pic->chip[1], offset, value);
}

/* ELCR1 at 0x4D0 (IRQ 0-7), ELCR2 at 0x4D1 (IRQ 8-15); IRQ 0, 1, 2, 8 and 13 are always edge. */
static uint64_t pic_elcr_read(void *opaque, uint64_t offset, unsigned size)
{
    Pic *pic = opaque;
    uint64_t v = pic->chip[offset & 1].elcr;
    if (size >= 2 && offset == 0) {
        v |= (uint64_t)pic->chip[1].elcr << 8;
    }
    return v;
}

static void pic_elcr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    Pic *pic = opaque;
    for (unsigned i = 0; i < size && offset + i < 2; i++) {
        PicChip *c = &pic->chip[offset + i];
        c->elcr = (value >> (8 * i)) & c->elcr_mask;
        c->irr = (c->irr & ~c->elcr) | (c->lines & c->elcr);
    }
    pic_update(pic);
}

static const IoOps pic_master_ops = { .read = pic_master_read, .write = pic_master_write };
static const IoOps pic_slave_ops = { .read = pic_slave_read, .write = pic_slave_write };
static const IoOps pic_elcr_ops = { .read = pic_elcr_read, .write = pic_elcr_write };

void pic_reset(void *opaque)
{
    Pic *pic = opaque;
    for (int i = 0; i < 2; i++) {
        PicChip *c = &pic->chip[i];
        uint8_t lines = c->lines, mask = c->elcr_mask;
        *c = (PicChip){ .lines = lines, .elcr_mask = mask, .lowest = 7 };
    }
    pic_update(pic);
}

Pic *pic_create(Machine *m, IrqLine output)
{
    Pic *pic = g_new0(Pic, 1);
    pic->m = m;
    pic->output = output;
    pic->chip[0].elcr_mask = 0xF8;
    pic->chip[1].elcr_mask = 0xDE;
    pic->chip[0].lowest = pic->chip[1].lowest = 7;
    iobus_add(&m->pio, "pic-master", 0x20, 2, &pic_master_ops, pic);
    iobus_add(&m->pio, "pic-slave", 0xA0, 2, &pic_slave_ops, pic);
    iobus_add(&m->pio, "elcr", 0x4D0, 2, &pic_elcr_ops, pic);
    return pic;
}
