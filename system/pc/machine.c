/* The machine's shared services: RAM lookup for DMA, GSI routing, vCPU requests, logging, reset hooks. */
#include "system/pc/machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

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

bool machine_has_ioeventfd(Machine *m)
{
    const AccelOps *ops = m->accel ? m->accel->ops : NULL;
    return ops && ops->add_ioeventfd && ops->del_ioeventfd;
}

bool machine_ioeventfd(Machine *m, uint64_t addr, unsigned len, bool pio, int fd, bool assign)
{
    if (!machine_has_ioeventfd(m)) {
        return false;
    }
    const AccelOps *ops = m->accel->ops;
    return assign ? ops->add_ioeventfd(m, addr, len, pio, fd) : ops->del_ioeventfd(m, addr, len, pio, fd);
}

struct MachineMsiRoute {
    Machine *m;
    int gsi;                 /* the accelerator's route, -1 until the first message */
    int fd;                  /* eventfd bound to gsi by irqfd */
    bool plain;              /* no irqfd (not offered, or refused): machine_send_msi */
    uint64_t address;
    uint32_t data;
};

MachineMsiRoute *machine_msi_route_new(Machine *m)
{
    MachineMsiRoute *r = g_new0(MachineMsiRoute, 1);
    r->m = m;
    r->gsi = r->fd = -1;
    return r;
}

/* The first message: a route and an irqfd for it, when the accelerator (known by now) has them. */
static void machine_msi_route_create(MachineMsiRoute *r, uint64_t address, uint32_t data)
{
    Machine *m = r->m;
    const AccelOps *ops = m->accel ? m->accel->ops : NULL;
    r->plain = true;
    if (!ops || !ops->add_msi_route || !ops->add_irqfd || !m->accel->irqchip_in_kernel) {
        return;
    }
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int gsi = fd >= 0 ? ops->add_msi_route(m, address, data) : -1;
    if (gsi >= 0 && ops->add_irqfd(m, gsi, fd)) {
        r->gsi = gsi;
        r->fd = fd;
        r->address = address;
        r->data = data;
        r->plain = false;
        return;
    }
    machine_log(m, MACHINE_LOG_UNIMP, "MSI route for %#llx/%#x: no irqfd, sending through the accelerator",
                (unsigned long long)address, data);
    if (gsi >= 0 && ops->del_msi_route) {
        ops->del_msi_route(m, gsi);
    }
    if (fd >= 0) {
        close(fd);
    }
}

void machine_msi_route_update(MachineMsiRoute *r, uint64_t address, uint32_t data)
{
    if (r->plain) {
        return;
    }
    if (r->gsi < 0) {
        machine_msi_route_create(r, address, data);
        return;
    }
    if (address == r->address && data == r->data) {
        return;
    }
    if (!r->m->accel->ops->set_msi_route(r->m, r->gsi, address, data)) {
        machine_log(r->m, MACHINE_LOG_GUEST_ERRORS, "MSI route %d: cannot change to %#llx/%#x", r->gsi,
                    (unsigned long long)address, data);
        return;
    }
    r->address = address;
    r->data = data;
}

void machine_msi_route_send(MachineMsiRoute *r, uint64_t address, uint32_t data)
{
    machine_msi_route_update(r, address, data);
    uint64_t one = 1;
    if (r->plain || r->address != address || r->data != data || write(r->fd, &one, sizeof(one)) != sizeof(one)) {
        machine_send_msi(r->m, address, data);
    }
}

bool machine_msi_route_uses_irqfd(const MachineMsiRoute *r)
{
    return !r->plain && r->gsi >= 0;
}
