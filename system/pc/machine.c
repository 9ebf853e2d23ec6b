/* The machine's shared services: RAM lookup for DMA, GSI routing, vCPU requests, logging, reset hooks. */
#include "system/pc/machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "system/pc/accel.h"

__thread Vcpu *vcpu_current;

void machine_log(Machine *m, unsigned item, const char *fmt, ...)
{
    if (!(m->log_mask & item)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *machine_ram_ptr(Machine *m, uint64_t gpa, uint64_t len)
{
    if (gpa + len < gpa) {
        return NULL;
    }
    if (gpa + len <= m->ram_low) {
        return m->ram + gpa;
    }
    if (gpa >= PC_HIGH_RAM_BASE && gpa - PC_HIGH_RAM_BASE + len <= m->ram_high) {
        return m->ram + m->ram_low + (gpa - PC_HIGH_RAM_BASE);
    }
    return NULL;
}

bool machine_ram_read(Machine *m, uint64_t gpa, void *buf, uint64_t len)
{
    void *p = machine_ram_ptr(m, gpa, len);
    if (p) {
        memcpy(buf, p, len);
    }
    return p != NULL;
}

bool machine_ram_write(Machine *m, uint64_t gpa, const void *buf, uint64_t len)
{
    void *p = machine_ram_ptr(m, gpa, len);
    if (p) {
        memcpy(p, buf, len);
        machine_ram_written(m, gpa, len);
    }
    return p != NULL;
}

void machine_ram_written(Machine *m, uint64_t gpa, uint64_t len)
{
    if (m->accel && m->accel->ops->ram_written) {
        m->accel->ops->ram_written(m, gpa, len);
    }
}

void machine_set_gsi(Machine *m, int gsi, int level)
{
    if (gsi < 0 || gsi >= PC_NUM_GSI) {
        machine_log(m, MACHINE_LOG_GUEST_ERRORS, "interrupt line %d does not exist", gsi);
        return;
    }
    if (m->accel && m->accel->irqchip_in_kernel) {
        m->accel->ops->set_gsi(m, gsi, level);
        return;
    }
    if (gsi < 16) {
        irq_set(&m->pic_in[gsi], level);
    }
    irq_set(&m->ioapic_in[gsi], level);
}

static void machine_gsi_handler(void *opaque, int n, int level) { machine_set_gsi(opaque, n, level); }

IrqLine machine_gsi(Machine *m, int gsi)
{
    return (IrqLine){ .handler = machine_gsi_handler, .opaque = m, .n = gsi };
}

void vcpu_request(Vcpu *v, unsigned requests)
{
    __atomic_fetch_or(&v->requests, requests, __ATOMIC_SEQ_CST);
    g_cond_broadcast(&v->machine->vcpu_wake);
    if (v->machine->accel) {
        v->machine->accel->ops->vcpu_kick(v);
    }
}

typedef struct ResetHook {
    MachineResetFn fn;
    void *opaque;
} ResetHook;

static GArray *machine_reset_hooks;   /* one machine per process */

void machine_register_reset(Machine *m, MachineResetFn fn, void *opaque)
{
    (void)m;
    if (!machine_reset_hooks) {
        machine_reset_hooks = g_array_new(FALSE, FALSE, sizeof(ResetHook));
    }
    ResetHook hook = { fn, opaque };
    g_array_append_val(machine_reset_hooks, hook);
}

/* Reset every registered device, in registration order (lock held). */
void machine_reset_devices(Machine *m)
{
    (void)m;
    for (guint i = 0; machine_reset_hooks && i < machine_reset_hooks->len; i++) {
        ResetHook *hook = &g_array_index(machine_reset_hooks, ResetHook, i);
        hook->fn(hook->opaque);
    }
}

void machine_send_msi(Machine *m, uint64_t address, uint32_t data)
{
    if (m->accel && m->accel->irqchip_in_kernel) {
        m->accel->ops->send_msi(m, address, data);
    } else {
        pc_apic_deliver_msi(m, address, data);
    }
}
