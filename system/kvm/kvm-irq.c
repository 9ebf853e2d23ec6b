/*
 * Interrupts and notifications under KVM: the in-kernel irqchip's GSI routing table, interrupt lines
 * (KVM_IRQ_LINE), one-off MSIs (KVM_SIGNAL_MSI), MSI routes bound to eventfds (irqfd), and ioeventfds.
 *
 * The routing table is ours from the start (KVM_SET_GSI_ROUTING replaces the whole table, so it always
 * holds the pin routes as well as the MSI routes):
 *  - GSI 0..15 reach the 8259 pair (master pins 0..7, slave pins 0..7) and GSI 1..23 the I/O APIC pin of
 *    the same number, except that GSI 0 (the in-kernel PIT's IRQ 0) goes to I/O APIC pin 2, as the MADT's
 *    interrupt source override (ISA IRQ 0 -> GSI 2, system/pc/boot) tells the guest. GSI 2 has no route:
 *    ISA IRQ 2 is the 8259 cascade and I/O APIC pin 2 belongs to the timer. (KVM's own default table sends
 *    GSI 0 to I/O APIC pin 0, where a guest that believes the MADT never looks for its timer.) The PIT's
 *    EOI notification follows the route back from pin 2 to GSI 0, so its tick reinjection keeps working.
 *  - GSI PC_NUM_GSI and up are MSI routes: one per MSI-X vector (machine_msi_route_*), each with an eventfd
 *    bound by KVM_IRQFD, so a device's interrupt is one write(2) from any thread and the route follows the
 *    guest's MSI-X table.
 *
 * INTx (PCI's level-triggered lines on ISA IRQs 10/11) stays on KVM_IRQ_LINE rather than an irqfd with a
 * resamplefd. Our devices run in user space: the line's level is decided there (several functions share one
 * line and the PCI core ORs them), and it drops when the driver reads the virtio ISR, which is an MMIO exit
 * to user space anyway. A resamplefd would add a round trip through the main loop at every EOI just to
 * re-assert a level we already know, while KVM_IRQ_LINE gives the in-kernel I/O APIC the true level, so its
 * remote-IRR/EOI logic re-delivers a still-asserted line by itself. irqfd pays off for edge-triggered
 * messages, which is what MSI-X is and what Linux uses for virtio.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "system/kvm/kvm-internal.h"

/* At most this many MSI routes of ours. KVM refuses a table beyond its own limit (KVM_CAP_IRQ_ROUTING);
   a route it refuses leaves that vector on KVM_SIGNAL_MSI (system/pc/machine.c). */
#define KVM_MAX_MSI_ROUTES 1024

static struct kvm_irq_routing_entry kvm_pin_route(uint32_t gsi, uint32_t chip, uint32_t pin)
{
    struct kvm_irq_routing_entry e = { .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP };
    e.u.irqchip.irqchip = chip;
    e.u.irqchip.pin = pin;
    return e;
}

/* The pin routes described above, into e (room for 40): how many. */
static unsigned kvm_pin_routes(struct kvm_irq_routing_entry *e)
{
    unsigned n = 0;
    for (uint32_t gsi = 0; gsi < PC_NUM_GSI; gsi++) {
        if (gsi == 2) {
            continue;
        }
        if (gsi < 16) {
            e[n++] = kvm_pin_route(gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
        }
        e[n++] = kvm_pin_route(gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? 2 : gsi);
    }
    return n;
}

/* Give KVM the whole table: pin routes and every MSI route in use (vm->irq_lock held). */
static bool kvm_commit_routes(KvmVm *vm)
{
    unsigned max = 40 + vm->msi_nr;
    struct kvm_irq_routing *t = calloc(1, sizeof(*t) + max * sizeof(struct kvm_irq_routing_entry));
    /* entries[] after the 8-byte header (see the flexible-array note in the tests) */
    struct kvm_irq_routing_entry *e = (struct kvm_irq_routing_entry *)((uint8_t *)t + sizeof(*t));
    unsigned n = kvm_pin_routes(e);
    for (unsigned i = 0; i < vm->msi_nr; i++) {
        if (vm->msi[i].used) {
            e[n] = (struct kvm_irq_routing_entry){ .gsi = PC_NUM_GSI + i, .type = KVM_IRQ_ROUTING_MSI };
            e[n].u.msi.address_lo = (uint32_t)vm->msi[i].address;
            e[n].u.msi.address_hi = (uint32_t)(vm->msi[i].address >> 32);
            e[n].u.msi.data = vm->msi[i].data;
            n++;
        }
    }
    t->nr = n;
    int r = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t);
    free(t);
    return r == 0;
}

bool kvm_irq_init(KvmVm *vm, GError **err)
{
    g_mutex_init(&vm->irq_lock);
    vm->irq_lock_init = true;
    g_mutex_lock(&vm->irq_lock);
    bool ok = kvm_commit_routes(vm);
    g_mutex_unlock(&vm->irq_lock);
    if (!ok) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "kvm: KVM_SET_GSI_ROUTING: %s",
                    g_strerror(errno));
    }
    return ok;
}

void kvm_irq_destroy(KvmVm *vm)
{
    g_free(vm->msi);
    vm->msi = NULL;
    vm->msi_nr = 0;
    if (vm->irq_lock_init) {
        g_mutex_clear(&vm->irq_lock);
        vm->irq_lock_init = false;
    }
}

void kvm_set_gsi(Machine *m, int gsi, int level)
{
    struct kvm_irq_level irq = { .irq = (uint32_t)gsi, .level = (uint32_t)level };
    if (ioctl(kvm_vm(m)->vm_fd, KVM_IRQ_LINE, &irq) < 0) {
        machine_log(m, MACHINE_LOG_GUEST_ERRORS, "kvm: KVM_IRQ_LINE %d: %s", gsi, g_strerror(errno));
    }
}

void kvm_send_msi(Machine *m, uint64_t address, uint32_t data)
{
    struct kvm_msi msi = { .address_lo = (uint32_t)address, .address_hi = (uint32_t)(address >> 32),
                           .data = data };
    if (ioctl(kvm_vm(m)->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
        machine_log(m, MACHINE_LOG_GUEST_ERRORS, "kvm: MSI to %#llx: %s", (unsigned long long)address,
                    g_strerror(errno));
    }
}

int kvm_add_msi_route(Machine *m, uint64_t address, uint32_t data)
{
    KvmVm *vm = kvm_vm(m);
    g_mutex_lock(&vm->irq_lock);
    unsigned i = 0;
    while (i < vm->msi_nr && vm->msi[i].used) {
        i++;
    }
    if (i == vm->msi_nr) {
        if (vm->msi_nr == KVM_MAX_MSI_ROUTES) {
            g_mutex_unlock(&vm->irq_lock);
            return -ENOSPC;
        }
        vm->msi = g_renew(KvmMsiRoute, vm->msi, ++vm->msi_nr);
    }
    vm->msi[i] = (KvmMsiRoute){ .used = true, .address = address, .data = data };
    int ret = PC_NUM_GSI + (int)i;
    if (!kvm_commit_routes(vm)) {
        ret = -errno;
        vm->msi[i].used = false;
    }
    g_mutex_unlock(&vm->irq_lock);
    return ret;
}

static KvmMsiRoute *kvm_msi_route(KvmVm *vm, int gsi)
{
    unsigned i = (unsigned)(gsi - PC_NUM_GSI);
    return gsi >= PC_NUM_GSI && i < vm->msi_nr && vm->msi[i].used ? &vm->msi[i] : NULL;
}

bool kvm_set_msi_route(Machine *m, int gsi, uint64_t address, uint32_t data)
{
    KvmVm *vm = kvm_vm(m);
    g_mutex_lock(&vm->irq_lock);
    KvmMsiRoute *r = kvm_msi_route(vm, gsi);
    bool ok = false;
    if (r) {
        KvmMsiRoute old = *r;
        r->address = address;
        r->data = data;
        if (!(ok = kvm_commit_routes(vm))) {
            *r = old;
        }
    }
    g_mutex_unlock(&vm->irq_lock);
    return ok;
}

void kvm_del_msi_route(Machine *m, int gsi)
{
    KvmVm *vm = kvm_vm(m);
    g_mutex_lock(&vm->irq_lock);
    KvmMsiRoute *r = kvm_msi_route(vm, gsi);
    if (r) {
        r->used = false;
        kvm_commit_routes(vm);
    }
    g_mutex_unlock(&vm->irq_lock);
}

/*
 * ioeventfd: KVM compares the guest's write against addr and len (no datamatch: virtio-pci gives every
 * queue its own notify address). A write of another size still exits to the device's trapped path.
 */
static bool kvm_ioeventfd(Machine *m, uint64_t addr, unsigned len, bool pio, int fd, bool assign)
{
    struct kvm_ioeventfd e = { .addr = addr, .len = len, .fd = fd,
                               .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
                                        (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN) };
    return ioctl(kvm_vm(m)->vm_fd, KVM_IOEVENTFD, &e) == 0;
}

bool kvm_add_ioeventfd(Machine *m, uint64_t addr, unsigned len, bool pio, int fd)
{
    return kvm_ioeventfd(m, addr, len, pio, fd, true);
}

bool kvm_del_ioeventfd(Machine *m, uint64_t addr, unsigned len, bool pio, int fd)
{
    return kvm_ioeventfd(m, addr, len, pio, fd, false);
}

static bool kvm_irqfd(Machine *m, int gsi, int fd, bool assign)
{
    struct kvm_irqfd e = { .fd = (uint32_t)fd, .gsi = (uint32_t)gsi,
                           .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
    return ioctl(kvm_vm(m)->vm_fd, KVM_IRQFD, &e) == 0;
}

bool kvm_add_irqfd(Machine *m, int gsi, int fd) { return kvm_irqfd(m, gsi, fd, true); }
bool kvm_del_irqfd(Machine *m, int gsi, int fd) { return kvm_irqfd(m, gsi, fd, false); }
