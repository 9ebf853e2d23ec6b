/*
 * MSI-X (PCI Local Bus 3.0 §6.8.2): the capability's message control (enable, function mask), the vector
 * table (address, data, per-vector mask) and the pending-bit array, in a memory BAR of their own.
 */
#include "system/pc/pci/pci.h"

#include <errno.h>
#include <string.h>

#include "system/pc/accel.h"
#include "system/pc/pci/pci-internal.h"

#define MSIX_PBA_OFFSET 0x800
#define MSIX_BAR_SIZE   0x1000
#define MSIX_MAX_VECTORS (MSIX_PBA_OFFSET / PCI_MSIX_ENTRY_SIZE)

static uint16_t msix_control(const PciDevice *d)
{
    return (uint16_t)pci_get_le(&d->config[d->msix.cap + PCI_MSIX_FLAGS], 2);
}

bool pci_msix_enabled(const PciDevice *d)
{
    return d->msix.nvectors && (msix_control(d) & PCI_MSIX_FLAGS_ENABLE);
}

static bool msix_masked(const PciDevice *d, unsigned v)
{
    const uint8_t *e = d->msix.table + v * PCI_MSIX_ENTRY_SIZE;
    return (msix_control(d) & PCI_MSIX_FLAGS_MASKALL) || (e[12] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void msix_send(PciDevice *d, unsigned v)
{
    const uint8_t *e = d->msix.table + v * PCI_MSIX_ENTRY_SIZE;
    uint64_t addr = pci_get_le(e, 4) | (uint64_t)pci_get_le(e + 4, 4) << 32;
    machine_msi_route_send(d->msix.routes[v], addr, pci_get_le(e + 8, 4));
}

static bool msix_pending(const PciDevice *d, unsigned v)
{
    return (d->msix.pba[v / 64] >> (v % 64)) & 1;
}

static void msix_set_pending(PciDevice *d, unsigned v, bool pending)
{
    if (pending) {
        d->msix.pba[v / 64] |= 1ull << (v % 64);
    } else {
        d->msix.pba[v / 64] &= ~(1ull << (v % 64));
    }
}

/*
 * A vector that became unmasked sends the message it held back. An unmasked vector's route follows the
 * table (KVM: its GSI route is rewritten); a masked one keeps its old route, which nothing uses, because
 * every send passes pci_msix_notify's mask check first.
 */
static void msix_check_pending(PciDevice *d, unsigned v)
{
    if (pci_msix_enabled(d) && !msix_masked(d, v)) {
        const uint8_t *e = d->msix.table + v * PCI_MSIX_ENTRY_SIZE;
        machine_msi_route_update(d->msix.routes[v], pci_get_le(e, 4) | (uint64_t)pci_get_le(e + 4, 4) << 32,
                                 pci_get_le(e + 8, 4));
    }
    if (pci_msix_enabled(d) && msix_pending(d, v) && !msix_masked(d, v)) {
        msix_set_pending(d, v, false);
        msix_send(d, v);
    }
}

void pci_msix_notify(PciDevice *d, unsigned vector)
{
    if (vector >= d->msix.nvectors || !pci_msix_enabled(d)) {
        return;
    }
    if (msix_masked(d, vector)) {
        msix_set_pending(d, vector, true);
    } else {
        msix_send(d, vector);
    }
}

void pci_msix_control_written(PciDevice *d)
{
    for (unsigned v = 0; v < d->msix.nvectors; v++) {
        msix_check_pending(d, v);
    }
    pci_update_intx(d);
}

void pci_msix_reset(PciDevice *d)
{
    if (!d->msix.nvectors) {
        return;
    }
    memset(d->msix.table, 0, d->msix.nvectors * PCI_MSIX_ENTRY_SIZE);
    for (unsigned v = 0; v < d->msix.nvectors; v++) {
        d->msix.table[v * PCI_MSIX_ENTRY_SIZE + 12] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
    }
    memset(d->msix.pba, 0, (d->msix.nvectors + 63) / 64 * sizeof(uint64_t));
}

static uint64_t msix_bar_read(void *opaque, uint64_t offset, unsigned size)
{
    PciDevice *d = opaque;
    uint64_t table_len = (uint64_t)d->msix.nvectors * PCI_MSIX_ENTRY_SIZE;
    if (offset + size <= table_len) {
        uint64_t lo = pci_get_le(d->msix.table + offset, size > 4 ? 4 : size);
        if (size == 8) {
            lo |= (uint64_t)pci_get_le(d->msix.table + offset + 4, 4) << 32;
        }
        return lo;
    }
    if (offset >= MSIX_PBA_OFFSET && offset + size <= MSIX_PBA_OFFSET + (d->msix.nvectors + 63) / 64 * 8) {
        uint64_t bit = (offset - MSIX_PBA_OFFSET) * 8;
        uint64_t word = d->msix.pba[bit / 64] >> (bit % 64);
        return size == 8 ? word : word & ((1ull << (size * 8)) - 1);
    }
    return 0;
}

static void msix_bar_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PciDevice *d = opaque;
    uint64_t table_len = (uint64_t)d->msix.nvectors * PCI_MSIX_ENTRY_SIZE;
    if (offset + size > table_len) {
        return;   /* the PBA is read-only, the rest reserved */
    }
    for (unsigned i = 0; i < size; i++) {
        uint64_t at = offset + i;
        uint8_t b = (uint8_t)(value >> (8 * i));
        if (at % PCI_MSIX_ENTRY_SIZE == 12) {
            b &= PCI_MSIX_ENTRY_CTRL_MASKBIT;      /* vector control: only the mask bit exists */
        } else if (at % PCI_MSIX_ENTRY_SIZE > 12) {
            continue;
        }
        d->msix.table[at] = b;
    }
    msix_check_pending(d, (unsigned)(offset / PCI_MSIX_ENTRY_SIZE));
}

static const IoOps msix_bar_ops = { .read = msix_bar_read, .write = msix_bar_write };

int pci_msix_init(PciDevice *d, unsigned nvectors, int bar)
{
    if (nvectors == 0 || nvectors > MSIX_MAX_VECTORS || d->msix.nvectors) {
        return -EINVAL;
    }
    int ret = pci_register_bar(d, bar, PCI_BAR_MEM32, MSIX_BAR_SIZE, &msix_bar_ops, d);
    if (ret < 0) {
        return ret;
    }
    uint8_t cap = pci_add_capability(d, PCI_CAP_ID_MSIX, 12);
    if (!cap) {
        return -ENOSPC;
    }
    d->msix.nvectors = nvectors;
    d->msix.cap = cap;
    d->msix.bar = bar;
    d->msix.table = g_malloc0(nvectors * PCI_MSIX_ENTRY_SIZE);
    d->msix.pba = g_malloc0((nvectors + 63) / 64 * sizeof(uint64_t));
    d->msix.routes = g_new0(MachineMsiRoute *, nvectors);
    for (unsigned v = 0; v < nvectors; v++) {
        d->msix.routes[v] = machine_msi_route_new(d->machine);
    }
    pci_set_le(&d->config[cap + PCI_MSIX_FLAGS], 2, nvectors - 1);
    pci_set_le(&d->config[cap + PCI_MSIX_TABLE], 4, (uint32_t)bar);
    pci_set_le(&d->config[cap + PCI_MSIX_PBA], 4, MSIX_PBA_OFFSET | (uint32_t)bar);
    pci_set_wmask(d, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    pci_msix_reset(d);
    return 0;
}
