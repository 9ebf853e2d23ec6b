/*
 * The PC's cascaded 8259A programmable interrupt controllers: the master at ports 0x20/0x21 (IRQ 0-7),
 * the slave at 0xA0/0xA1 (IRQ 8-15, cascaded into the master's IR2), and the edge/level control
 * registers at 0x4D0/0x4D1 (the PIIX/ICH "ELCR"). The master's INT output goes to the BSP (its local
 * APIC's LINT0 in virtual-wire mode); the CPU acknowledges through pic_intack().
 */
#ifndef EMBER_PC_DEVICES_PIC_H
#define EMBER_PC_DEVICES_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "system/pc/machine.h"

typedef struct Pic Pic;

/* Registers the ports; inputs 0..15 are pic_input(); output is the master's INT pin. */
Pic *pic_create(Machine *m, IrqLine output);
/* An IRQ input's line (IRQ 0..15), what m->pic_in[] holds. */
IrqLine pic_input(Pic *pic, int irq);
/* INT is asserted: an unmasked request outranks everything in service. */
bool pic_output_level(const Pic *pic);
/* The INTA cycle: the vector of the highest request (or the spurious IRQ 7/15 vector). */
uint8_t pic_intack(Pic *pic);
void pic_reset(void *pic);

#endif
