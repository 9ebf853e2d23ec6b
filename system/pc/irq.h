/*
 * An interrupt line: the output of a device wired to an input of an interrupt controller (or of the
 * machine's GSI router). Raising or lowering it calls the receiver with the line's number.
 */
#ifndef EMBER_PC_IRQ_H
#define EMBER_PC_IRQ_H

typedef void (*IrqHandler)(void *opaque, int n, int level);

typedef struct IrqLine {
    IrqHandler handler;      /* NULL: an unconnected line */
    void *opaque;
    int n;
} IrqLine;

static inline void irq_set(const IrqLine *line, int level)
{
    if (line->handler) {
        line->handler(line->opaque, line->n, level);
    }
}
static inline void irq_raise(const IrqLine *line) { irq_set(line, 1); }
static inline void irq_lower(const IrqLine *line) { irq_set(line, 0); }
/* An edge-triggered device's pulse. */
static inline void irq_pulse(const IrqLine *line)
{
    irq_set(line, 1);
    irq_set(line, 0);
}

#endif
