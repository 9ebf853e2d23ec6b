/*
 * A PCI function's configuration space: masked writes, BARs (sizing by writing all ones, moving the
 * decoded range when the guest reprograms them), the capability list and INTx.
 */
#include "system/pc/pci/pci.h"

#include <errno.h>
#include <string.h>

#include "system/pc/pci/pci-internal.h"

uint32_t pci_get_le(const uint8_t *p, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

void pci_set_le(uint8_t *p, unsigned size, uint32_t value)
{
    for (unsigned i = 0; i < size; i++) {
        p[i] = (uint8_t)(value >> (8 * i));
    }
}

void pci_set_subsystem(PciDevice *d, uint16_t subsystem_vendor, uint16_t subsystem)
{
    pci_set_le(&d->config[PCI_SUBSYSTEM_VENDOR_ID], 2, subsystem_vendor);
    pci_set_le(&d->config[PCI_SUBSYSTEM_ID], 2, subsystem);
}

void pci_set_wmask(PciDevice *d, unsigned offset, unsigned size, uint32_t mask)
{
    pci_set_le(&d->wmask[offset], size, mask);
}

int pci_register_bar(PciDevice *d, int bar, PciBarType type, uint64_t size, const IoOps *ops,
                     void *opaque)
{
    int nregs = type == PCI_BAR_MEM64 ? 2 : 1;
    if (bar < 0 || bar + nregs > PCI_NUM_BARS || type == PCI_BAR_NONE || (size & (size - 1)) ||
        size < (type == PCI_BAR_IO ? 4u : 16u) || (type == PCI_BAR_IO && size > 256) ||
        (type == PCI_BAR_MEM32 && size > 0x80000000ull)) {
        return -EINVAL;
    }
    if (d->bars[bar].type != PCI_BAR_NONE || (nregs == 2 && d->bars[bar + 1].type != PCI_BAR_NONE)) {
        return -EEXIST;
    }
    uint64_t addr = pci_bus_place_bar(d->bus, type, size);
    if (!addr) {
        return -ENOSPC;
    }
    d->bars[bar] = (PciBar){ .type = type, .size = size, .ops = ops, .opaque = opaque };
    unsigned reg = PCI_BASE_ADDRESS_0 + 4 * (unsigned)bar;
    if (type == PCI_BAR_IO) {
        pci_set_le(&d->config[reg], 4, (uint32_t)addr | PCI_BASE_ADDRESS_SPACE_IO);
        pci_set_wmask(d, reg, 4, (uint32_t)~(size - 1) & 0xFFFCu);
    } else {
        uint32_t flags = type == PCI_BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0;
        pci_set_le(&d->config[reg], 4, (uint32_t)addr | flags);
        pci_set_wmask(d, reg, 4, (uint32_t)~(size - 1) & 0xFFFFFFF0u);
        if (type == PCI_BAR_MEM64) {
            pci_set_le(&d->config[reg + 4], 4, (uint32_t)(addr >> 32));
            pci_set_wmask(d, reg + 4, 4, (uint32_t)(~(size - 1) >> 32));
        }
    }
    return 0;
}

uint8_t pci_add_capability(PciDevice *d, uint8_t id, uint8_t size)
{
    unsigned off = d->cap_free ? d->cap_free : 0x40;
    off = (off + 3) & ~3u;
    if (size < 2 || off + size > PCI_CONFIG_SIZE) {
        return 0;
    }
    /* Append, so the list reads in the order capabilities were added. */
    uint8_t *link = &d->config[PCI_CAPABILITY_LIST];
    while (*link) {
        link = &d->config[*link + 1];
    }
    *link = (uint8_t)off;
    d->config[off] = id;
    d->config[off + 1] = 0;
    d->cap_free = (uint8_t)(off + size < PCI_CONFIG_SIZE ? off + size : 0xFC);
    d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    return (uint8_t)off;
}

void pci_device_realize(PciDevice *d)
{
    memcpy(d->reset_config, d->config, sizeof(d->config));
    pci_update_mappings(d);
}

/* The address BAR n decodes now, or false if it decodes nothing (disabled, unset, or impossible). */
static bool pci_bar_decoded_addr(PciDevice *d, int n, uint64_t *out)
{
    PciBar *bar = &d->bars[n];
    uint16_t cmd = (uint16_t)pci_get_le(&d->config[PCI_COMMAND], 2);
    uint32_t lo = pci_get_le(&d->config[PCI_BASE_ADDRESS_0 + 4 * n], 4);
    uint64_t addr;
    if (bar->type == PCI_BAR_IO) {
        if (!(cmd & PCI_COMMAND_IO)) {
            return false;
        }
        addr = lo & ~3u;
        if (addr + bar->size > 0x10000) {
            return false;
        }
    } else {
        if (!(cmd & PCI_COMMAND_MEMORY)) {
            return false;
        }
        addr = lo & ~0xFu;
        if (bar->type == PCI_BAR_MEM64) {
            addr |= (uint64_t)pci_get_le(&d->config[PCI_BASE_ADDRESS_0 + 4 * n + 4], 4) << 32;
        }
        /* Beyond any physical address width (what sizing leaves behind): decodes nothing useful. */
        if (addr + bar->size < addr || addr + bar->size > (1ull << 48)) {
            return false;
        }
    }
    *out = addr;
    return addr != 0;
}

void pci_update_mappings(PciDevice *d)
{
    for (int n = 0; n < PCI_NUM_BARS; n++) {
        PciBar *bar = &d->bars[n];
        if (bar->type == PCI_BAR_NONE) {
            continue;
        }
        IoBus *iobus = bar->type == PCI_BAR_IO ? &d->machine->pio : &d->machine->mmio;
        uint64_t addr = 0;
        bool want = pci_bar_decoded_addr(d, n, &addr);
        if (bar->mapped && (!want || addr != bar->addr)) {
            iobus_remove(iobus, bar->addr);
            bar->mapped = false;
        }
        if (want && !bar->mapped) {
            if (iobus_add(iobus, d->name, addr, bar->size, bar->ops, bar->opaque) == 0) {
                bar->mapped = true;
                bar->addr = addr;
            } else {
                machine_log(d->machine, MACHINE_LOG_GUEST_ERRORS,
                            "pci %s: BAR %d at 0x%llx overlaps another device; not decoded", d->name, n,
                            (unsigned long long)addr);
            }
        }
    }
}

bool pci_bar_mapped(const PciDevice *d, int bar, uint64_t *addr)
{
    if (bar < 0 || bar >= PCI_NUM_BARS || !d->bars[bar].mapped) {
        return false;
    }
    if (addr) {
        *addr = d->bars[bar].addr;
    }
    return true;
}

uint32_t pci_config_read(PciDevice *d, unsigned offset, unsigned size)
{
    if (offset + size > PCI_CONFIG_SIZE) {
        return ~0u;
    }
    if (d->config_read) {
        d->config_read(d, offset, size);
    }
    return pci_get_le(&d->config[offset], size);
}

static bool pci_range_touches(unsigned off, unsigned size, unsigned start, unsigned len)
{
    return off < start + len && start < off + size;
}

void pci_config_write(PciDevice *d, unsigned offset, uint32_t value, unsigned size)
{
    if (offset + size > PCI_CONFIG_SIZE) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        uint8_t v = (uint8_t)(value >> (8 * i));
        uint8_t *c = &d->config[offset + i];
        uint8_t wm = d->wmask[offset + i], w1c = d->w1cmask[offset + i];
        *c = (uint8_t)(((*c & ~wm) | (v & wm)) & ~(v & w1c));
    }
    if (pci_range_touches(offset, size, PCI_COMMAND, 2) ||
        pci_range_touches(offset, size, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS)) {
        pci_update_mappings(d);
    }
    if (d->msix.nvectors && pci_range_touches(offset, size, d->msix.cap + PCI_MSIX_FLAGS, 2)) {
        pci_msix_control_written(d);
    }
    if (pci_range_touches(offset, size, PCI_COMMAND, 2)) {
        pci_update_intx(d);
    }
    if (d->config_write) {
        d->config_write(d, offset, value, size);
    }
}

void pci_update_intx(PciDevice *d)
{
    uint16_t cmd = (uint16_t)pci_get_le(&d->config[PCI_COMMAND], 2);
    bool assert = d->intx_level && !(cmd & PCI_COMMAND_INTX_DISABLE) && !pci_msix_enabled(d);
    if (assert != d->intx_asserted) {
        d->intx_asserted = assert;
        pci_bus_set_intx(d->bus, d->gsi, assert);
    }
}

void pci_set_irq(PciDevice *d, int level)
{
    d->intx_level = level != 0;
    /* Interrupt Status follows the device's own level, whatever INTx Disable says. */
    if (d->intx_level) {
        d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    } else {
        d->config[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
    }
    pci_update_intx(d);
}
