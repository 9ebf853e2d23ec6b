/*
 * National Semiconductor PC16550D UART (datasheet "PC16550D Universal Asynchronous Receiver/Transmitter
 * with FIFOs"). Transmission is instantaneous: a byte written to THR is handed to the CharOut at once, so
 * THR and the transmitter are always empty again (LSR THRE and TEMT stay set) and the THRE interrupt
 * re-arms after every write. The receiver is a 16-byte FIFO (1 byte with FIFOs off).
 */
#include "system/pc/devices/uart.h"

#include "system/pc/iobus.h"

#define UART_FIFO_SIZE 16

enum { UART_RBR_THR_DLL, UART_IER_DLM, UART_IIR_FCR, UART_LCR, UART_MCR, UART_LSR, UART_MSR, UART_SCR };

#define IER_ERBFI 0x01          /* received data available */
#define IER_ETBEI 0x02          /* THR empty */
#define IER_ELSI  0x04          /* receiver line status */
#define IER_EDSSI 0x08          /* modem status */

#define IIR_NONE    0x01
#define IIR_MSR     0x00
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0C
#define IIR_FIFO_ON 0xC0

#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

struct Uart {
    Machine *m;
    const char *name;
    IrqLine irq;
    CharOut out;
    void (*rx_space)(void *opaque);
    void *rx_opaque;
    uint8_t rx[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
    uint8_t ier, fcr, lcr, mcr, msr, scr, dll, dlm;
    uint8_t lsr_errors;         /* OE: cleared when LSR is read */
    bool thr_ipending;          /* THRE interrupt: set when THR empties, cleared by IIR read / THR write */
    bool irq_level;
};

static unsigned uart_rx_capacity(const Uart *u) { return (u->fcr & 1) ? UART_FIFO_SIZE : 1; }

static unsigned uart_rx_trigger(const Uart *u)
{
    static const uint8_t levels[4] = { 1, 4, 8, 14 };
    return (u->fcr & 1) ? levels[u->fcr >> 6] : 1;
}

/* IIR by the datasheet's priority: line status > received data (or timeout) > THR empty > modem status. */
static uint8_t uart_iir(const Uart *u)
{
    uint8_t id = IIR_NONE;
    if ((u->ier & IER_ELSI) && u->lsr_errors) {
        id = IIR_RLS;
    } else if ((u->ier & IER_ERBFI) && u->rx_count) {
        /* The character timeout needs 4 idle character times; the host hands over bursts, so a FIFO
           below its trigger level is reported as already timed out and the guest drains it at once. */
        id = u->rx_count >= uart_rx_trigger(u) ? IIR_RDA : IIR_TIMEOUT;
    } else if ((u->ier & IER_ETBEI) && u->thr_ipending) {
        id = IIR_THRE;
    } else if ((u->ier & IER_EDSSI) && (u->msr & 0x0F)) {
        id = IIR_MSR;
    }
    return id | ((u->fcr & 1) ? IIR_FIFO_ON : 0);
}

/* INTRPT follows "an interrupt is pending"; MCR OUT2 does not gate it (as in QEMU, which guests expect). */
static void uart_update(Uart *u)
{
    bool level = !(uart_iir(u) & IIR_NONE);
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set(&u->irq, level);
    }
}

static void uart_rx_push(Uart *u, uint8_t byte)
{
    if (u->rx_count >= uart_rx_capacity(u)) {
        u->lsr_errors |= LSR_OE;    /* overrun: the FIFO keeps its bytes, the new one is lost */
        return;
    }
    u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
    u->rx_count++;
}

static void uart_rx_clear(Uart *u)
{
    u->rx_head = u->rx_count = 0;
}

static void uart_rx_space(Uart *u)
{
    if (u->rx_space && uart_can_receive(u)) {
        u->rx_space(u->rx_opaque);
    }
}

size_t uart_can_receive(Uart *u)
{
    if (u->mcr & MCR_LOOP) {
        return 0;               /* loopback disconnects the serial input */
    }
    return uart_rx_capacity(u) - u->rx_count;
}

void uart_receive(Uart *u, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uart_rx_push(u, buf[i]);
    }
    uart_update(u);
}

/* Modem status inputs: in loopback the outputs feed them (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD);
   otherwise the host side is always there (CTS, DSR, DCD). Deltas accumulate until MSR is read. */
static void uart_update_msr(Uart *u)
{
    uint8_t lines;
    if (u->mcr & MCR_LOOP) {
        lines = ((u->mcr & 0x02) ? 0x10 : 0) | ((u->mcr & 0x01) ? 0x20 : 0) | ((u->mcr & 0x04) ? 0x40 : 0)
                | ((u->mcr & 0x08) ? 0x80 : 0);
    } else {
        lines = 0xB0;
    }
    uint8_t old = u->msr & 0xF0, changed = old ^ lines, delta = u->msr & 0x0F;
    delta |= (changed & 0x10) ? 0x01 : 0;                       /* DCTS */
    delta |= (changed & 0x20) ? 0x02 : 0;                       /* DDSR */
    delta |= ((old & 0x40) && !(lines & 0x40)) ? 0x04 : 0;      /* TERI: trailing edge of RI */
    delta |= (changed & 0x80) ? 0x08 : 0;                       /* DDCD */
    u->msr = lines | delta;
}

static void uart_transmit(Uart *u, uint8_t byte)
{
    u->thr_ipending = false;
    uart_update(u);             /* THR full for a moment: a pending THRE interrupt drops, then re-rises */
    if (u->mcr & MCR_LOOP) {
        uart_rx_push(u, byte);
    } else {
        char_out_write(&u->out, &byte, 1);
    }
    u->thr_ipending = true;
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    Uart *u = opaque;
    uint8_t v = 0;
    switch (offset) {
    case UART_RBR_THR_DLL:
        if (u->lcr & LCR_DLAB) {
            return u->dll;
        }
        if (u->rx_count) {
            v = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
            u->rx_count--;
            uart_update(u);
            uart_rx_space(u);
        }
        return v;
    case UART_IER_DLM:
        return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
    case UART_IIR_FCR:
        v = uart_iir(u);
        if ((v & 0x0F) == IIR_THRE) {
            u->thr_ipending = false;    /* reading IIR while it shows THRE clears that interrupt */
            uart_update(u);
        }
        return v;
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        v = (u->rx_count ? LSR_DR : 0) | u->lsr_errors | LSR_THRE | LSR_TEMT;
        u->lsr_errors = 0;
        uart_update(u);
        return v;
    case UART_MSR:
        v = u->msr;
        u->msr &= 0xF0;
        uart_update(u);
        return v;
    default:
        return u->scr;
    }
}

static void uart_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)size;
    Uart *u = opaque;
    uint8_t v = value;
    switch (offset) {
    case UART_RBR_THR_DLL:
        if (u->lcr & LCR_DLAB) {
            u->dll = v;
        } else {
            uart_transmit(u, v);
        }
        break;
    case UART_IER_DLM:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
            break;
        }
        if ((v & IER_ETBEI) && !(u->ier & IER_ETBEI)) {
            u->thr_ipending = true;     /* enabling ETBEI with THR empty interrupts at once */
        }
        u->ier = v & 0x0F;
        break;
    case UART_IIR_FCR: {
        bool was_on = u->fcr & 1;
        if ((v & 1) != was_on || (v & 0x02)) {
            uart_rx_clear(u);           /* enabling/disabling the FIFOs or RCVR FIFO reset clears it */
        }
        u->fcr = v & 0xC9;              /* FIFO enable, DMA mode select, trigger level; resets self-clear */
        if (!(v & 1)) {
            u->fcr = 0;
        }
        uart_rx_space(u);
        break;
    }
    case UART_LCR:
        u->lcr = v;
        break;
    case UART_MCR: {
        bool was_loop = u->mcr & MCR_LOOP;
        u->mcr = v & 0x1F;
        uart_update_msr(u);
        if (was_loop && !(u->mcr & MCR_LOOP)) {
            uart_rx_space(u);
        }
        break;
    }
    case UART_LSR:
    case UART_MSR:
        machine_log(u->m, MACHINE_LOG_GUEST_ERRORS, "%s: write 0x%02x to read-only register %u", u->name, v,
                    (unsigned)offset);
        break;
    default:
        u->scr = v;
        break;
    }
    uart_update(u);
}

static const IoOps uart_ops = { .read = uart_read, .write = uart_write };

void uart_reset(void *opaque)
{
    Uart *u = opaque;
    /* Datasheet table "UART reset configuration": IER, FCR, LCR, MCR cleared, LSR = 0x60, IIR = 0x01. */
    u->ier = u->fcr = u->lcr = u->mcr = 0;
    u->lsr_errors = 0;
    u->thr_ipending = false;
    uart_rx_clear(u);
    u->msr = 0;
    uart_update_msr(u);
    u->msr &= 0xF0;
    uart_update(u);
}

Uart *uart_create(Machine *m, const char *name, uint16_t port, IrqLine irq, CharOut out,
                  void (*rx_space)(void *opaque), void *rx_opaque)
{
    Uart *u = g_new0(Uart, 1);
    u->m = m;
    u->name = name;
    u->irq = irq;
    u->out = out;
    u->rx_space = rx_space;
    u->rx_opaque = rx_opaque;
    uart_reset(u);
    iobus_add(&m->pio, name, port, 8, &uart_ops, u);
    return u;
}
