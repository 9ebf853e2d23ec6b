/*
 * The local APIC of each vCPU (xAPIC mode; x2APIC is not advertised), its MMIO page at PC_LAPIC_BASE
 * (one range for all CPUs: the accessing CPU is vcpu_current), and the "APIC bus" that carries
 * interrupt messages from the I/O APIC, MSIs and IPIs to the local APICs. The CPU-facing half
 * (pc_cpu_interrupt_pending / _ack, IA32_APIC_BASE, CR8, MSI delivery) is declared in accel.h.
 */
#ifndef EMBER_PC_DEVICES_LAPIC_H
#define EMBER_PC_DEVICES_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "system/pc/machine.h"

struct Pic;
struct IoApic;
typedef struct LocalApic LocalApic;

/* Delivery modes of interrupt messages (ICR, redirection entries, MSI data, LVT entries). */
enum {
    APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4, APIC_DM_INIT = 5,
    APIC_DM_SIPI = 6, APIC_DM_EXTINT = 7,
};

/* pic: the 8259 pair whose INT reaches this CPU's LINT0 (the BSP's), or NULL. ioapic: where EOIs of
   level-triggered vectors are broadcast, or NULL. */
LocalApic *lapic_create(Machine *m, Vcpu *v, struct Pic *pic, struct IoApic *ioapic);
/* Power-on state plus what PC firmware leaves: the BSP's LINT0 in ExtINT virtual-wire mode. */
void lapic_reset(void *apic);
/* The local APICs' MMIO page (once per machine). */
void lapic_register_mmio(Machine *m);
/* LINT0 input (the PIC's INT). */
void lapic_set_lint0(LocalApic *s, bool level);

/* A message on the APIC bus: every local APIC the destination selects accepts it (dest 0xFF: all). */
void apic_bus_deliver(Machine *m, uint8_t dest, bool logical, int delivery_mode, uint8_t vector,
                      bool level_triggered);

#endif
