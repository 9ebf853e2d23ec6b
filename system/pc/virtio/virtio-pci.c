/*
 * The virtio PCI modern transport (virtio 1.2 §4.1): vendor capabilities pointing into BAR 4 (common
 * configuration, notifications, ISR status, device configuration), MSI-X in BAR 1, and the device status
 * machine: feature negotiation, queue setup, DRIVER_OK, reset and DEVICE_NEEDS_RESET.
 */
#include "system/pc/virtio/virtio.h"

#include <glib-unix.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void virtio_ioeventfd_sync(VirtioDevice *vdev);

bool virtio_has_feature(const VirtioDevice *vdev, unsigned bit)
{
    return (vdev->guest_features >> bit) & 1;
}

bool virtio_driver_ok(const VirtioDevice *vdev)
{
    return (vdev->status & VIRTIO_STATUS_DRIVER_OK) && !vdev->broken;
}

/* Send an interrupt on an MSI-X vector, or through ISR bit isr_bit and INTx when MSI-X is off. */
static void virtio_interrupt(VirtioDevice *vdev, uint16_t vector, uint8_t isr_bit)
{
    if (pci_msix_enabled(vdev->pci)) {
        if (vector != VIRTIO_NO_VECTOR) {
            pci_msix_notify(vdev->pci, vector);
        }
        return;
    }
    vdev->isr |= isr_bit;
    pci_set_irq(vdev->pci, 1);
}

void virtio_notify(VirtioDevice *vdev, VirtQueue *vq)
{
    if (!virtio_driver_ok(vdev)) {
        return;
    }
    const uint16_t *flags = machine_ram_ptr(vdev->machine, vq->avail, 2);
    if (flags && (__atomic_load_n(flags, __ATOMIC_ACQUIRE) & VIRTQ_AVAIL_F_NO_INTERRUPT)) {
        return;
    }
    virtio_interrupt(vdev, vq->msix_vector, 1);
}

void virtio_config_changed(VirtioDevice *vdev)
{
    vdev->config_generation++;
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK) {
        virtio_interrupt(vdev, vdev->config_vector, 2);
    }
}

void virtio_error(VirtioDevice *vdev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    machine_log(vdev->machine, MACHINE_LOG_GUEST_ERRORS, "%s: %s; device needs reset", vdev->name, msg);
    g_free(msg);
    if (vdev->broken) {
        return;
    }
    vdev->broken = true;
    vdev->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    virtio_ioeventfd_sync(vdev);
    /* §2.1.2: a device that sets DEVICE_NEEDS_RESET after DRIVER_OK sends a configuration change. */
    if (vdev->status & VIRTIO_STATUS_DRIVER_OK) {
        virtio_interrupt(vdev, vdev->config_vector, 2);
    }
}

void virtio_reset(VirtioDevice *vdev)
{
    vdev->reset_count++;
    if (vdev->ops->reset) {
        vdev->ops->reset(vdev);
    }
    vdev->status = 0;
    vdev->broken = false;
    vdev->guest_features = 0;
    vdev->dfselect = vdev->gfselect = 0;
    vdev->queue_select = 0;
    vdev->config_vector = VIRTIO_NO_VECTOR;
    vdev->isr = 0;
    pci_set_irq(vdev->pci, 0);
    for (unsigned q = 0; q < vdev->nqueues; q++) {
        VirtQueue *vq = &vdev->queues[q];
        *vq = (VirtQueue){ .max_size = vq->max_size, .size = vq->max_size, .index = q,
                           .msix_vector = VIRTIO_NO_VECTOR };
    }
    virtio_ioeventfd_sync(vdev);
}

static VirtQueue *virtio_selected_queue(VirtioDevice *vdev)
{
    return vdev->queue_select < vdev->nqueues ? &vdev->queues[vdev->queue_select] : NULL;
}

static uint16_t virtio_valid_vector(VirtioDevice *vdev, uint32_t v)
{
    return v < vdev->pci->msix.nvectors ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

static uint32_t virtio_common_read32(VirtioDevice *vdev, uint64_t offset)
{
    VirtQueue *vq = virtio_selected_queue(vdev);
    switch (offset) {
    case VIRTIO_COMMON_DFSELECT: return vdev->dfselect;
    case VIRTIO_COMMON_DF:
        return vdev->dfselect < 2 ? (uint32_t)(vdev->host_features >> (32 * vdev->dfselect)) : 0;
    case VIRTIO_COMMON_GFSELECT: return vdev->gfselect;
    case VIRTIO_COMMON_GF:
        return vdev->gfselect < 2 ? (uint32_t)(vdev->guest_features >> (32 * vdev->gfselect)) : 0;
    case VIRTIO_COMMON_MSIX: return vdev->config_vector;
    case VIRTIO_COMMON_NUMQ: return vdev->nqueues;
    case VIRTIO_COMMON_STATUS: return vdev->status;
    case VIRTIO_COMMON_CFGGENERATION: return vdev->config_generation;
    case VIRTIO_COMMON_Q_SELECT: return vdev->queue_select;
    }
    if (!vq) {
        return offset == VIRTIO_COMMON_Q_MSIX ? VIRTIO_NO_VECTOR : 0;   /* size 0: no such queue */
    }
    switch (offset) {
    case VIRTIO_COMMON_Q_SIZE: return vq->size;
    case VIRTIO_COMMON_Q_MSIX: return vq->msix_vector;
    case VIRTIO_COMMON_Q_ENABLE: return vq->enabled;
    case VIRTIO_COMMON_Q_NOFF: return vq->index;
    case VIRTIO_COMMON_Q_DESCLO: return (uint32_t)vq->desc;
    case VIRTIO_COMMON_Q_DESCHI: return (uint32_t)(vq->desc >> 32);
    case VIRTIO_COMMON_Q_AVAILLO: return (uint32_t)vq->avail;
    case VIRTIO_COMMON_Q_AVAILHI: return (uint32_t)(vq->avail >> 32);
    case VIRTIO_COMMON_Q_USEDLO: return (uint32_t)vq->used;
    case VIRTIO_COMMON_Q_USEDHI: return (uint32_t)(vq->used >> 32);
    }
    return 0;
}

static void virtio_set_half(uint64_t *field, bool high, uint32_t value)
{
    if (high) {
        *field = (*field & 0xFFFFFFFFull) | (uint64_t)value << 32;
    } else {
        *field = (*field & ~0xFFFFFFFFull) | value;
    }
}

/* The driver enables a queue: its rings must be aligned and lie wholly in RAM (§2.7). */
static void virtio_queue_enable(VirtioDevice *vdev, VirtQueue *vq)
{
    Machine *m = vdev->machine;
    uint64_t n = vq->size;
    if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3) ||
        !machine_ram_ptr(m, vq->desc, 16 * n) || !machine_ram_ptr(m, vq->avail, 6 + 2 * n) ||
        !machine_ram_ptr(m, vq->used, 6 + 8 * n)) {
        virtio_error(vdev, "queue %u rings (desc 0x%llx avail 0x%llx used 0x%llx, size %u) are not in RAM",
                     vq->index, (unsigned long long)vq->desc, (unsigned long long)vq->avail,
                     (unsigned long long)vq->used, vq->size);
        return;
    }
    vq->enabled = true;
    vq->last_avail = 0;
    vq->used_idx = 0;
}

static void virtio_status_write(VirtioDevice *vdev, uint8_t value)
{
    if (value == 0) {
        virtio_reset(vdev);
        return;
    }
    uint8_t old = vdev->status;
    if ((value & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* Accept only a subset of what we offered, and only the modern interface (§6.1). */
        if ((vdev->guest_features & ~vdev->host_features) || !virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
            machine_log(vdev->machine, MACHINE_LOG_GUEST_ERRORS,
                        "%s: driver features 0x%llx not acceptable", vdev->name,
                        (unsigned long long)vdev->guest_features);
            value &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
        }
    }
    vdev->status = (uint8_t)(value | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
    if ((value & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && !vdev->broken &&
        vdev->ops->driver_ok) {
        vdev->ops->driver_ok(vdev);
    }
    virtio_ioeventfd_sync(vdev);
}

static void virtio_common_write32(VirtioDevice *vdev, uint64_t offset, uint32_t value)
{
    VirtQueue *vq = virtio_selected_queue(vdev);
    bool features_locked = vdev->status & VIRTIO_STATUS_FEATURES_OK;
    switch (offset) {
    case VIRTIO_COMMON_DFSELECT: vdev->dfselect = value; return;
    case VIRTIO_COMMON_GFSELECT: vdev->gfselect = value; return;
    case VIRTIO_COMMON_GF:
        if (vdev->gfselect < 2 && !features_locked) {
            virtio_set_half(&vdev->guest_features, vdev->gfselect == 1, value);
        }
        return;
    case VIRTIO_COMMON_MSIX: vdev->config_vector = virtio_valid_vector(vdev, value); return;
    case VIRTIO_COMMON_STATUS: virtio_status_write(vdev, (uint8_t)value); return;
    case VIRTIO_COMMON_Q_SELECT: vdev->queue_select = (uint16_t)value; return;
    }
    if (!vq) {
        machine_log(vdev->machine, MACHINE_LOG_GUEST_ERRORS, "%s: write to queue %u, which does not exist",
                    vdev->name, vdev->queue_select);
        return;
    }
    if (offset == VIRTIO_COMMON_Q_MSIX) {
        vq->msix_vector = virtio_valid_vector(vdev, value);
        return;
    }
    if (vq->enabled) {
        return;   /* the ring's geometry is fixed until reset */
    }
    switch (offset) {
    case VIRTIO_COMMON_Q_SIZE:
        if (value == 0 || value > vq->max_size || (value & (value - 1))) {
            virtio_error(vdev, "queue %u: invalid size %u (at most %u, a power of two)", vq->index, value,
                         vq->max_size);
            return;
        }
        vq->size = (uint16_t)value;
        return;
    case VIRTIO_COMMON_Q_ENABLE:
        if (value == 1 && !vdev->broken) {
            virtio_queue_enable(vdev, vq);
        }
        return;
    case VIRTIO_COMMON_Q_DESCLO: case VIRTIO_COMMON_Q_DESCHI:
        virtio_set_half(&vq->desc, offset == VIRTIO_COMMON_Q_DESCHI, value);
        return;
    case VIRTIO_COMMON_Q_AVAILLO: case VIRTIO_COMMON_Q_AVAILHI:
        virtio_set_half(&vq->avail, offset == VIRTIO_COMMON_Q_AVAILHI, value);
        return;
    case VIRTIO_COMMON_Q_USEDLO: case VIRTIO_COMMON_Q_USEDHI:
        virtio_set_half(&vq->used, offset == VIRTIO_COMMON_Q_USEDHI, value);
        return;
    }
}

/* The driver notified queue q (a trapped write, or an ioeventfd the main loop saw). */
static void virtio_queue_kick(VirtioDevice *vdev, uint64_t q)
{
    if (q >= vdev->nqueues) {
        virtio_error(vdev, "notification for queue %llu, which does not exist", (unsigned long long)q);
        return;
    }
    if (virtio_driver_ok(vdev) && vdev->queues[q].enabled) {
        vdev->ops->queue_notify(vdev, (unsigned)q);
    }
}

/*
 * The notify fast path (accel.h's ioeventfd; KVM's KVM_IOEVENTFD). While the driver runs (DRIVER_OK, not
 * broken) and BAR 4 is decoded, each queue's notify address (its own: notify_off_multiplier 4, so no
 * datamatch is needed) signals an eventfd of the queue's instead of exiting to virtio_bar_write, and a GLib
 * source on the main context turns the eventfd into the queue's notify handler. The registration follows
 * the BAR when the guest moves it or turns memory decoding off, and ends at reset. The driver's write is
 * 2 bytes (the queue index, §4.1.5.2, as VIRTIO_F_NOTIFICATION_DATA is not offered); any other size, and
 * the configuration-space window, still take the trapped path. Without the accelerator's support (TCG) the
 * trapped path is all there is.
 */
typedef struct VirtioNotifyFd {
    VirtioDevice *vdev;
    unsigned q;
    int fd;
    GSource *source;
} VirtioNotifyFd;

struct VirtioIoeventfd {
    bool unavailable;        /* the accelerator refused: the trapped path only, from now on */
    bool assigned;
    uint64_t base;           /* the notify region's guest address while assigned */
    VirtioNotifyFd *fds;     /* nqueues, created at the first registration */
};

#define VIRTIO_NOTIFY_LEN 2

static gboolean virtio_notify_fd_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    (void)cond;
    VirtioNotifyFd *n = opaque;
    uint64_t count;
    if (read(fd, &count, sizeof(count)) != sizeof(count)) {
        return G_SOURCE_CONTINUE;   /* another wake-up took it */
    }
    /* A kick from before a reset finds the queue disabled: virtio_queue_kick ignores it. */
    machine_lock(n->vdev->machine);
    virtio_queue_kick(n->vdev, n->q);
    machine_unlock(n->vdev->machine);
    return G_SOURCE_CONTINUE;
}

static bool virtio_ioeventfd_open(VirtioDevice *vdev, VirtioIoeventfd *io)
{
    GMainContext *ctx = vdev->machine->main_context;
    io->fds = g_new0(VirtioNotifyFd, vdev->nqueues);
    for (unsigned q = 0; q < vdev->nqueues; q++) {
        io->fds[q].fd = -1;
    }
    for (unsigned q = 0; q < vdev->nqueues; q++) {
        VirtioNotifyFd *n = &io->fds[q];
        *n = (VirtioNotifyFd){ .vdev = vdev, .q = q, .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
        if (n->fd < 0) {
            return false;
        }
        n->source = g_unix_fd_source_new(n->fd, G_IO_IN);
        g_source_set_callback(n->source, (GSourceFunc)(void (*)(void))virtio_notify_fd_ready, n, NULL);
        g_source_attach(n->source, ctx);
    }
    return true;
}

static void virtio_ioeventfd_close(VirtioDevice *vdev, VirtioIoeventfd *io)
{
    for (unsigned q = 0; io->fds && q < vdev->nqueues; q++) {
        if (io->fds[q].source) {
            g_source_destroy(io->fds[q].source);
            g_source_unref(io->fds[q].source);
        }
        if (io->fds[q].fd >= 0) {
            close(io->fds[q].fd);
        }
    }
    g_free(io->fds);
    io->fds = NULL;
}

static void virtio_ioeventfd_unassign(VirtioDevice *vdev, VirtioIoeventfd *io, unsigned nq)
{
    for (unsigned q = 0; q < nq; q++) {
        machine_ioeventfd(vdev->machine, io->base + q * VIRTIO_PCI_NOTIFY_MULTIPLIER, VIRTIO_NOTIFY_LEN, false,
                          io->fds[q].fd, false);
    }
}

/* Make the registration match the device's state and BAR 4's address (lock held). */
static void virtio_ioeventfd_sync(VirtioDevice *vdev)
{
    VirtioIoeventfd *io = vdev->ioeventfd;
    uint64_t bar = 0;
    if (!io) {
        return;
    }
    bool want = !io->unavailable && virtio_driver_ok(vdev) && pci_bar_mapped(vdev->pci, VIRTIO_PCI_BAR, &bar);
    uint64_t base = bar + VIRTIO_PCI_NOTIFY_OFFSET;
    if (io->assigned && (!want || base != io->base)) {
        virtio_ioeventfd_unassign(vdev, io, vdev->nqueues);
        io->assigned = false;
    }
    if (!want || io->assigned) {
        return;
    }
    if (!io->fds && !machine_has_ioeventfd(vdev->machine)) {
        io->unavailable = true;   /* TCG: the writes are dispatched where they happen anyway */
        return;
    }
    io->base = base;
    unsigned done = 0;
    if (io->fds || virtio_ioeventfd_open(vdev, io)) {
        while (done < vdev->nqueues &&
               machine_ioeventfd(vdev->machine, base + done * VIRTIO_PCI_NOTIFY_MULTIPLIER, VIRTIO_NOTIFY_LEN,
                                 false, io->fds[done].fd, true)) {
            done++;
        }
    }
    if (done == vdev->nqueues) {
        io->assigned = true;
        return;
    }
    if (io->fds) {
        virtio_ioeventfd_unassign(vdev, io, done);
    }
    virtio_ioeventfd_close(vdev, io);
    io->unavailable = true;
    machine_log(vdev->machine, MACHINE_LOG_UNIMP, "%s: no ioeventfd for queue notifications; trapping them",
                vdev->name);
}

bool virtio_ioeventfd_active(const VirtioDevice *vdev, uint64_t *notify_base)
{
    if (!vdev->ioeventfd || !vdev->ioeventfd->assigned) {
        return false;
    }
    if (notify_base) {
        *notify_base = vdev->ioeventfd->base;
    }
    return true;
}

static uint64_t virtio_bar_read(void *opaque, uint64_t offset, unsigned size)
{
    VirtioDevice *vdev = opaque;
    uint64_t region = offset & ~(uint64_t)(VIRTIO_PCI_REGION_SIZE - 1);
    uint64_t off = offset - region;
    switch (region) {
    case VIRTIO_PCI_COMMON_OFFSET:
        if (off >= VIRTIO_COMMON_SIZE) {
            return 0;
        }
        if (size == 8) {
            return virtio_common_read32(vdev, off) | (uint64_t)virtio_common_read32(vdev, off + 4) << 32;
        }
        return virtio_common_read32(vdev, off);
    case VIRTIO_PCI_ISR_OFFSET: {
        /* Reading the ISR acknowledges the interrupt (§4.1.4.5). */
        uint8_t isr = vdev->isr;
        vdev->isr = 0;
        pci_set_irq(vdev->pci, 0);
        return off == 0 ? isr : 0;
    }
    case VIRTIO_PCI_DEVICE_OFFSET: {
        uint64_t v = 0;
        for (unsigned i = 0; i < size && off + i < vdev->config_len; i++) {
            v |= (uint64_t)vdev->config[off + i] << (8 * i);
        }
        return v;
    }
    }
    return 0;
}

static void virtio_bar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    VirtioDevice *vdev = opaque;
    uint64_t region = offset & ~(uint64_t)(VIRTIO_PCI_REGION_SIZE - 1);
    uint64_t off = offset - region;
    switch (region) {
    case VIRTIO_PCI_COMMON_OFFSET:
        if (off >= VIRTIO_COMMON_SIZE) {
            return;
        }
        virtio_common_write32(vdev, off, (uint32_t)value);
        if (size == 8) {
            virtio_common_write32(vdev, off + 4, (uint32_t)(value >> 32));
        }
        return;
    case VIRTIO_PCI_DEVICE_OFFSET: {
        bool changed = false;
        for (unsigned i = 0; i < size && off + i < vdev->config_len; i++) {
            uint8_t wm = vdev->config_wmask ? vdev->config_wmask[off + i] : 0;
            uint8_t *c = &vdev->config[off + i];
            uint8_t nv = (uint8_t)((*c & ~wm) | ((value >> (8 * i)) & wm));
            changed |= nv != *c;
            *c = nv;
        }
        if (changed && vdev->ops->config_write) {
            vdev->ops->config_write(vdev, (unsigned)off, size);
        }
        return;
    }
    case VIRTIO_PCI_NOTIFY_OFFSET:
        virtio_queue_kick(vdev, off / VIRTIO_PCI_NOTIFY_MULTIPLIER);
        return;
    }
}

static const IoOps virtio_bar_ops = { .read = virtio_bar_read, .write = virtio_bar_write };

/* A virtio_pci_cap (§4.1.4) pointing at [offset, offset+length) of BAR 4. */
static void virtio_add_cap(PciDevice *d, uint8_t type, uint32_t offset, uint32_t length, bool notify)
{
    uint8_t len = notify ? 20 : 16;
    uint8_t cap = pci_add_capability(d, PCI_CAP_ID_VNDR, len);
    d->config[cap + 2] = len;
    d->config[cap + 3] = type;
    d->config[cap + 4] = VIRTIO_PCI_BAR;
    d->config[cap + 5] = 0;
    pci_set_le(&d->config[cap + 8], 4, offset);
    pci_set_le(&d->config[cap + 12], 4, length);
    if (notify) {
        pci_set_le(&d->config[cap + 16], 4, VIRTIO_PCI_NOTIFY_MULTIPLIER);
    }
}

/*
 * The PCI configuration access capability (§4.1.4.9): a window in configuration space onto BAR 4, for
 * firmware that cannot map BARs. The driver sets bar/offset/length, then reads or writes pci_cfg_data.
 */
#define PCI_CFG_CAP_LEN 20

static bool virtio_cfg_window(PciDevice *d, unsigned offset, unsigned size, uint64_t *bar_off, unsigned *len)
{
    VirtioDevice *vdev = d->opaque;
    unsigned cap = vdev->pci_cfg_cap, data = cap + 16;
    if (!cap || offset + size <= data || offset >= data + 4) {
        return false;
    }
    *len = pci_get_le(&d->config[cap + 12], 4);
    *bar_off = pci_get_le(&d->config[cap + 8], 4);
    /* Only BAR 4, naturally aligned 1/2/4-byte accesses inside it; anything else does nothing. */
    return d->config[cap + 4] == VIRTIO_PCI_BAR && (*len == 1 || *len == 2 || *len == 4) &&
           !(*bar_off & (*len - 1)) && *bar_off + *len <= VIRTIO_PCI_BAR_SIZE;
}

static void virtio_pci_config_read(PciDevice *d, unsigned offset, unsigned size)
{
    uint64_t bar_off;
    unsigned len;
    if (virtio_cfg_window(d, offset, size, &bar_off, &len)) {
        VirtioDevice *vdev = d->opaque;
        pci_set_le(&d->config[vdev->pci_cfg_cap + 16], 4, (uint32_t)virtio_bar_read(vdev, bar_off, len));
    }
}

static void virtio_pci_config_write(PciDevice *d, unsigned offset, uint32_t value, unsigned size)
{
    (void)value;
    virtio_ioeventfd_sync(d->opaque);   /* BAR 4 may have moved, or memory decoding changed */
    uint64_t bar_off;
    unsigned len;
    if (virtio_cfg_window(d, offset, size, &bar_off, &len)) {
        VirtioDevice *vdev = d->opaque;
        uint32_t data = pci_get_le(&d->config[vdev->pci_cfg_cap + 16], 4);
        virtio_bar_write(vdev, bar_off, len == 4 ? data : data & ((1u << (8 * len)) - 1), len);
    }
}

static void virtio_add_pci_cfg_cap(VirtioDevice *vdev)
{
    PciDevice *d = vdev->pci;
    uint8_t cap = pci_add_capability(d, PCI_CAP_ID_VNDR, PCI_CFG_CAP_LEN);
    if (!cap) {
        return;
    }
    d->config[cap + 2] = PCI_CFG_CAP_LEN;
    d->config[cap + 3] = VIRTIO_PCI_CAP_PCI_CFG;
    pci_set_wmask(d, cap + 4, 1, 0xFF);           /* bar */
    pci_set_wmask(d, cap + 8, 4, 0xFFFFFFFF);     /* offset */
    pci_set_wmask(d, cap + 12, 4, 0xFFFFFFFF);    /* length */
    pci_set_wmask(d, cap + 16, 4, 0xFFFFFFFF);    /* pci_cfg_data */
    vdev->pci_cfg_cap = cap;
    d->config_read = virtio_pci_config_read;
}

static void virtio_pci_reset(PciDevice *d)
{
    virtio_reset(d->opaque);
}

VirtioDevice *virtio_pci_create(Machine *m, PciBus *bus, const char *name, uint16_t device_id,
                                uint16_t pci_class, uint64_t features, unsigned config_len,
                                unsigned nqueues, const uint16_t *queue_sizes,
                                const VirtioDeviceOps *ops, void *opaque)
{
    /* Modern-only devices: device ID 0x1040 + type, revision 1 (§4.1.2.1). */
    PciDevice *d = pci_device_new(bus, name, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + device_id),
                                  (uint32_t)pci_class << 8, 1);
    if (!d) {
        return NULL;
    }
    VirtioDevice *vdev = g_new0(VirtioDevice, 1);
    vdev->machine = m;
    vdev->pci = d;
    vdev->name = d->name;
    vdev->device_id = device_id;
    vdev->host_features = features | 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_RING_F_INDIRECT_DESC;
    vdev->nqueues = nqueues;
    vdev->queues = g_new0(VirtQueue, nqueues);
    for (unsigned q = 0; q < nqueues; q++) {
        vdev->queues[q].max_size = queue_sizes[q];
    }
    vdev->config = g_malloc0(config_len ? config_len : 1);
    vdev->config_len = config_len;
    vdev->ops = ops;
    vdev->opaque = opaque;

    pci_set_subsystem(d, VIRTIO_PCI_VENDOR, 0x1100);
    d->opaque = vdev;
    d->reset = virtio_pci_reset;
    d->config_write = virtio_pci_config_write;
    vdev->ioeventfd = g_new0(VirtioIoeventfd, 1);
    if (pci_register_bar(d, VIRTIO_PCI_BAR, PCI_BAR_MEM64, VIRTIO_PCI_BAR_SIZE, &virtio_bar_ops, vdev) < 0 ||
        pci_msix_init(d, nqueues + 1, VIRTIO_PCI_MSIX_BAR) < 0) {
        return NULL;
    }
    virtio_add_cap(d, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFFSET, VIRTIO_COMMON_SIZE, false);
    virtio_add_cap(d, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFFSET, 1, false);
    if (config_len) {
        virtio_add_cap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFFSET, config_len, false);
    }
    virtio_add_cap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFFSET,
                   nqueues * VIRTIO_PCI_NOTIFY_MULTIPLIER, true);
    virtio_add_pci_cfg_cap(vdev);
    virtio_reset(vdev);
    vdev->reset_count = 0;
    pci_device_realize(d);
    return vdev;
}
