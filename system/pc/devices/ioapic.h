/*
 * The I/O APIC (82093AA) at PC_IOAPIC_BASE: 24 inputs (the machine's GSIs), each with a redirection
 * entry that turns an edge or an asserted level into a message on the APIC bus.
 */
#ifndef EMBER_PC_DEVICES_IOAPIC_H
#define EMBER_PC_DEVICES_IOAPIC_H

#include <stdint.h>

#include "system/pc/machine.h"

#define PC_IOAPIC_ID 0          /* the MADT's I/O APIC ID (its reset value) */

typedef struct IoApic IoApic;

IoApic *ioapic_create(Machine *m);
IrqLine ioapic_input(IoApic *s, int pin);
/* A local APIC retired a level-triggered vector: clear remote IRR of the entries using it. */
void ioapic_eoi(IoApic *s, uint8_t vector);
void ioapic_reset(void *ioapic);

#endif
