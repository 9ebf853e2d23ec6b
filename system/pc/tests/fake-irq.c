/* The interrupt controller the front end's tests pretend to have: a pending flag per vCPU. */
#include <stdbool.h>

#include "system/pc/accel.h"

bool fake_irq_pending[8];

bool pc_cpu_interrupt_pending(Vcpu *v) { return fake_irq_pending[v->index & 7]; }
int pc_cpu_interrupt_ack(Vcpu *v)
{
    fake_irq_pending[v->index & 7] = false;
    return 0x20;
}
uint64_t pc_cpu_apic_base(Vcpu *v) { return v->boot_state.apic_base; }
bool pc_cpu_set_apic_base(Vcpu *v, uint64_t value)
{
    (void)v, (void)value;
    return true;
}
uint8_t pc_cpu_get_tpr(Vcpu *v)
{
    (void)v;
    return 0;
}
void pc_cpu_set_tpr(Vcpu *v, uint8_t cr8) { (void)v, (void)cr8; }
void pc_apic_deliver_msi(Machine *m, uint64_t address, uint32_t data) { (void)m, (void)address, (void)data; }
