/*
 * Intel 8042-compatible keyboard controller as on PC/AT and PS/2 machines (IBM PS/2 Hardware Interface
 * Technical Reference, "Keyboard/Auxiliary Device Controller"). One output buffer holds the next byte
 * for the CPU; bytes queued behind it move in when it is read. The attached keyboard and mouse only
 * answer commands (ACK 0xFA and the documented replies); no key or motion data is ever produced.
 */
#include "system/pc/devices/i8042.h"

#include "system/pc/iobus.h"

#define STAT_OBF    0x01        /* output buffer full */
#define STAT_SYS    0x04        /* system flag: self-test passed */
#define STAT_CMD    0x08        /* last write was to 0x64 */
#define STAT_UNLOCK 0x10        /* keyboard not inhibited */
#define STAT_AUXOBF 0x20        /* the byte in the output buffer is from the mouse */

#define CCB_KBD_INT 0x01        /* controller command byte: IRQ 1 on keyboard data */
#define CCB_AUX_INT 0x02        /* IRQ 12 on mouse data */
#define CCB_SYS     0x04

#define I8042_QUEUE 16

struct I8042 {
    Machine *m;
    IrqLine irq1, irq12;
    uint8_t status, ccb, outport;
    uint8_t pending_cmd;        /* controller command waiting for its data byte (0: none) */
    uint8_t kbd_pending, aux_pending;   /* device command waiting for its parameter byte */
    uint8_t q[I8042_QUEUE];
    bool q_aux[I8042_QUEUE];
    unsigned q_head, q_count;
    uint8_t out;                /* the output buffer */
};

static void i8042_update(I8042 *k)
{
    if (!(k->status & STAT_OBF) && k->q_count) {
        k->out = k->q[k->q_head];
        k->status |= STAT_OBF;
        k->status = k->q_aux[k->q_head] ? (k->status | STAT_AUXOBF) : (k->status & ~STAT_AUXOBF);
        k->q_head = (k->q_head + 1) % I8042_QUEUE;
        k->q_count--;
    }
    bool obf = k->status & STAT_OBF, aux = k->status & STAT_AUXOBF;
    irq_set(&k->irq1, obf && !aux && (k->ccb & CCB_KBD_INT));
    irq_set(&k->irq12, obf && aux && (k->ccb & CCB_AUX_INT));
}

static void i8042_queue(I8042 *k, uint8_t byte, bool aux)
{
    if (k->q_count == I8042_QUEUE) {
        machine_log(k->m, MACHINE_LOG_GUEST_ERRORS, "i8042: output queue full, byte 0x%02x dropped", byte);
        return;
    }
    unsigned i = (k->q_head + k->q_count) % I8042_QUEUE;
    k->q[i] = byte;
    k->q_aux[i] = aux;
    k->q_count++;
}

static void i8042_reset_line(I8042 *k)
{
    machine_request_reset(k->m, SHUTDOWN_CAUSE_GUEST_RESET);
}

/* Keyboard commands (sent to port 0x60): ACK everything, with the replies an MF2 keyboard gives. */
static void i8042_kbd_command(I8042 *k, uint8_t cmd)
{
    if (k->kbd_pending) {
        k->kbd_pending = 0;     /* parameter of 0xED (LEDs), 0xF3 (typematic) or 0xF0 (scan code set) */
        i8042_queue(k, 0xFA, false);
        return;
    }
    switch (cmd) {
    case 0xEE: i8042_queue(k, 0xEE, false); break;        /* echo */
    case 0xED: case 0xF3: case 0xF0:
        k->kbd_pending = cmd;
        i8042_queue(k, 0xFA, false);
        break;
    case 0xF2:                                              /* identify: MF2 keyboard */
        i8042_queue(k, 0xFA, false);
        i8042_queue(k, 0xAB, false);
        i8042_queue(k, 0x83, false);
        break;
    case 0xFF:                                              /* reset: ACK, then BAT passed */
        i8042_queue(k, 0xFA, false);
        i8042_queue(k, 0xAA, false);
        break;
    default:
        i8042_queue(k, 0xFA, false);
        break;
    }
}

/* Mouse commands (0xD4 then a byte at 0x60): a standard PS/2 mouse, device id 0. */
static void i8042_aux_command(I8042 *k, uint8_t cmd)
{
    if (k->aux_pending) {
        k->aux_pending = 0;     /* parameter of 0xE8 (resolution) or 0xF3 (sample rate) */
        i8042_queue(k, 0xFA, true);
        return;
    }
    i8042_queue(k, 0xFA, true);
    switch (cmd) {
    case 0xE8: case 0xF3: k->aux_pending = cmd; break;
    case 0xE9:                                              /* status request: stream mode, 4 c/mm, 100/s */
        i8042_queue(k, 0x00, true);
        i8042_queue(k, 0x02, true);
        i8042_queue(k, 0x64, true);
        break;
    case 0xF2: i8042_queue(k, 0x00, true); break;         /* get device id */
    case 0xFF:                                              /* reset: BAT passed, id 0 */
        i8042_queue(k, 0xAA, true);
        i8042_queue(k, 0x00, true);
        break;
    default: break;
    }
}

static void i8042_command(I8042 *k, uint8_t cmd)
{
    switch (cmd) {
    case 0x20: i8042_queue(k, k->ccb, false); break;      /* read command byte */
    case 0x60: case 0xD1: case 0xD2: case 0xD3: case 0xD4:
        k->pending_cmd = cmd;                               /* takes the next byte at 0x60 */
        break;
    case 0xA7: k->ccb |= 0x20; break;                       /* disable mouse */
    case 0xA8: k->ccb &= ~0x20; break;                      /* enable mouse */
    case 0xA9: i8042_queue(k, 0x00, false); break;         /* mouse interface test: OK */
    case 0xAA:                                              /* self test */
        k->status |= STAT_SYS;
        i8042_queue(k, 0x55, false);
        break;
    case 0xAB: i8042_queue(k, 0x00, false); break;         /* keyboard interface test: OK */
    case 0xAD: k->ccb |= 0x10; break;                       /* disable keyboard */
    case 0xAE: k->ccb &= ~0x10; break;                      /* enable keyboard */
    case 0xC0: i8042_queue(k, 0x80, false); break;         /* input port: keyboard not inhibited */
    case 0xD0: i8042_queue(k, k->outport, false); break;   /* read output port */
    default:
        if (cmd >= 0xF0) {
            /* Pulse output port bits 0-3 low for 6 us where the command's bit is 0; bit 0 is RESET. */
            if (!(cmd & 1)) {
                i8042_reset_line(k);
            }
        } else {
            machine_log(k->m, MACHINE_LOG_UNIMP, "i8042: command 0x%02x not modelled", cmd);
        }
        break;
    }
}

static void i8042_data(I8042 *k, uint8_t val)
{
    uint8_t cmd = k->pending_cmd;
    k->pending_cmd = 0;
    switch (cmd) {
    case 0x60:
        k->ccb = val;
        k->status = (val & CCB_SYS) ? (k->status | STAT_SYS) : (k->status & ~STAT_SYS);
        break;
    case 0xD1:
        k->outport = val;
        if (!(val & 1)) {
            i8042_reset_line(k);    /* output port bit 0 low asserts the CPU's RESET */
        }
        break;
    case 0xD2: i8042_queue(k, val, false); break;          /* write keyboard output buffer */
    case 0xD3: i8042_queue(k, val, true); break;           /* write mouse output buffer */
    case 0xD4: i8042_aux_command(k, val); break;
    default: i8042_kbd_command(k, val); break;
    }
}

/* Port 0x60: the output buffer / data for the keyboard or a pending command. */
static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)offset;
    (void)size;
    I8042 *k = opaque;
    uint8_t v = k->out;
    k->status &= ~(STAT_OBF | STAT_AUXOBF);
    /* The line drops with OBF before a queued byte moves in, so each byte is a new edge for the PIC. */
    irq_lower(&k->irq1);
    irq_lower(&k->irq12);
    i8042_update(k);
    return v;
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)offset;
    (void)size;
    I8042 *k = opaque;
    k->status &= ~STAT_CMD;
    i8042_data(k, value);
    i8042_update(k);
}

/* Port 0x64: status register / controller commands. */
static uint64_t i8042_status_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)offset;
    (void)size;
    I8042 *k = opaque;
    return k->status;
}

static void i8042_command_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)offset;
    (void)size;
    I8042 *k = opaque;
    k->status |= STAT_CMD;
    i8042_command(k, value);
    i8042_update(k);
}

static const IoOps i8042_data_ops = { .read = i8042_data_read, .write = i8042_data_write };
static const IoOps i8042_cmd_ops = { .read = i8042_status_read, .write = i8042_command_write };

void i8042_reset(void *opaque)
{
    I8042 *k = opaque;
    k->status = STAT_SYS | STAT_UNLOCK;
    k->ccb = CCB_KBD_INT | CCB_AUX_INT | CCB_SYS | 0x40;   /* interrupts on, scan code translation */
    k->outport = 0x03;                                      /* RESET deasserted, A20 enabled */
    k->pending_cmd = k->kbd_pending = k->aux_pending = 0;
    k->q_head = k->q_count = 0;
    i8042_update(k);
}

I8042 *i8042_create(Machine *m, IrqLine kbd_irq1, IrqLine aux_irq12)
{
    I8042 *k = g_new0(I8042, 1);
    k->m = m;
    k->irq1 = kbd_irq1;
    k->irq12 = aux_irq12;
    i8042_reset(k);
    /* Two single ports: 0x61 between them belongs to the PIT. */
    iobus_add(&m->pio, "i8042-data", 0x60, 1, &i8042_data_ops, k);
    iobus_add(&m->pio, "i8042-cmd", 0x64, 1, &i8042_cmd_ops, k);
    return k;
}
