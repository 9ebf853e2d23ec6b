/*
 * The PCI host bridge: configuration mechanism 1 (CONFIG_ADDRESS at 0xCF8, CONFIG_DATA at 0xCFC-0xCFF),
 * bus 0 with single-function devices, the bridge itself at 00:00.0, where BARs are placed, and how
 * devices sharing an INTx line are wired together.
 */
#include "system/pc/pci/pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "system/pc/machine.h"
#include "system/pc/pci/pci-internal.h"

/* The host bridge's identity: Intel's 82G33/Q35 DRAM controller, which Linux treats as a plain host
   bridge (class 06:00) and which passes its type-1 sanity check (an Intel device with the host class). */
#define HOST_BRIDGE_VENDOR 0x8086
#define HOST_BRIDGE_DEVICE 0x29C0

#define CONFIG_ADDRESS_PORT 0xCF8
#define CONFIG_DATA_PORT    0xCFC
#define CONFIG_ENABLE       0x80000000u

struct PciBus {
    Machine *machine;
    PciDevice *devices[PCI_MAX_DEVICES];
    uint32_t config_address;
    uint64_t next_mmio;      /* BAR placement, growing upwards */
    uint64_t next_pio;
    unsigned gsi_count[PC_NUM_GSI];   /* devices asserting each line (lines are shared, wired-OR) */
};

Machine *pci_bus_machine(PciBus *bus) { return bus->machine; }

PciDevice *pci_bus_device(PciBus *bus, unsigned slot)
{
    return slot < PCI_MAX_DEVICES ? bus->devices[slot] : NULL;
}

/* The device CONFIG_ADDRESS selects, or NULL (other buses, functions 1-7, empty slots). */
static PciDevice *pci_host_selected(PciBus *bus, unsigned *reg)
{
    uint32_t a = bus->config_address;
    if (!(a & CONFIG_ENABLE) || ((a >> 16) & 0xFF) != 0 || ((a >> 8) & 7) != 0) {
        return NULL;
    }
    *reg = a & 0xFC;
    return bus->devices[(a >> 11) & 0x1F];
}

static uint64_t pci_host_addr_read(void *opaque, uint64_t offset, unsigned size)
{
    PciBus *bus = opaque;
    /* Only a dword access is CONFIG_ADDRESS; byte accesses to 0xCF8 belong to nobody. */
    return offset == 0 && size == 4 ? bus->config_address : ~0ull;
}

static void pci_host_addr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PciBus *bus = opaque;
    if (offset == 0 && size == 4) {
        /* Bits 1:0 are reserved and read back as zero; bits 30:24 too. */
        bus->config_address = (uint32_t)value & 0x80FFFFFCu;
    }
}

static uint64_t pci_host_data_read(void *opaque, uint64_t offset, unsigned size)
{
    PciBus *bus = opaque;
    unsigned reg;
    PciDevice *d = pci_host_selected(bus, &reg);
    if (!d || size > 4 || (offset & (size - 1))) {
        return ~0ull;
    }
    return pci_config_read(d, reg + (unsigned)offset, size);
}

static void pci_host_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PciBus *bus = opaque;
    unsigned reg;
    PciDevice *d = pci_host_selected(bus, &reg);
    if (!d || size > 4 || (offset & (size - 1))) {
        return;
    }
    pci_config_write(d, reg + (unsigned)offset, (uint32_t)value, size);
}

static const IoOps pci_host_addr_ops = { .read = pci_host_addr_read, .write = pci_host_addr_write };
static const IoOps pci_host_data_ops = { .read = pci_host_data_read, .write = pci_host_data_write };

/* Machine reset: every function goes back to its power-on configuration, then its own state. */
static void pci_bus_reset(void *opaque)
{
    PciBus *bus = opaque;
    bus->config_address = 0;
    for (unsigned slot = 0; slot < PCI_MAX_DEVICES; slot++) {
        PciDevice *d = bus->devices[slot];
        if (!d) {
            continue;
        }
        pci_set_irq(d, 0);
        memcpy(d->config, d->reset_config, sizeof(d->config));
        pci_msix_reset(d);
        /* Re-run the mapping logic against the restored BARs and command register. */
        pci_config_write(d, PCI_COMMAND, pci_get_le(&d->config[PCI_COMMAND], 2), 2);
        if (d->reset) {
            d->reset(d);
        }
    }
}

PciBus *pci_host_create(Machine *m)
{
    PciBus *bus = g_new0(PciBus, 1);
    bus->machine = m;
    bus->next_mmio = PC_PCI_MMIO_BASE;
    bus->next_pio = PCI_PIO_BASE;
    /* 0xCF8 alone: 0xCF9 is the reset control register, another device's. */
    iobus_add(&m->pio, "pci-config-address", CONFIG_ADDRESS_PORT, 1, &pci_host_addr_ops, bus);
    iobus_add(&m->pio, "pci-config-data", CONFIG_DATA_PORT, 4, &pci_host_data_ops, bus);

    PciDevice *host = pci_device_new(bus, "pci-host", HOST_BRIDGE_VENDOR, HOST_BRIDGE_DEVICE, 0x060000, 0);
    pci_set_le(&host->config[PCI_INTERRUPT_PIN], 1, 0);
    host->wmask[PCI_INTERRUPT_LINE] = 0;
    pci_device_realize(host);
    machine_register_reset(m, pci_bus_reset, bus);
    return bus;
}

PciDevice *pci_device_new(PciBus *bus, const char *name, uint16_t vendor, uint16_t device,
                          uint32_t class_code, uint8_t revision)
{
    unsigned slot = 0;
    while (slot < PCI_MAX_DEVICES && bus->devices[slot]) {
        slot++;
    }
    if (slot == PCI_MAX_DEVICES) {
        return NULL;
    }
    PciDevice *d = g_new0(PciDevice, 1);
    d->bus = bus;
    d->machine = bus->machine;
    d->devfn = (uint8_t)(slot << 3);
    snprintf(d->name, sizeof(d->name), "%s", name);
    /* Two INTx lines for the whole bus, alternating by slot. */
    d->gsi = (slot & 1) ? 11 : 10;
    bus->devices[slot] = d;

    uint8_t *c = d->config;
    pci_set_le(c + PCI_VENDOR_ID, 2, vendor);
    pci_set_le(c + PCI_DEVICE_ID, 2, device);
    pci_set_le(c + PCI_REVISION_ID, 1, revision);
    pci_set_le(c + PCI_CLASS_PROG, 1, class_code & 0xFF);
    pci_set_le(c + PCI_CLASS_DEVICE, 2, class_code >> 8);
    pci_set_le(c + PCI_HEADER_TYPE, 1, 0);
    pci_set_le(c + PCI_SUBSYSTEM_VENDOR_ID, 2, vendor);
    pci_set_le(c + PCI_SUBSYSTEM_ID, 2, device);
    pci_set_le(c + PCI_INTERRUPT_LINE, 1, (uint32_t)d->gsi);
    pci_set_le(c + PCI_INTERRUPT_PIN, 1, 1);
    /* What firmware would leave: decoding on. Bus mastering is the driver's to enable. */
    pci_set_le(c + PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);

    pci_set_wmask(d, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                  0x0040 /* parity */ | 0x0100 /* SERR# */ | PCI_COMMAND_INTX_DISABLE);
    pci_set_wmask(d, 0x0C, 1, 0xFF);                 /* cache line size */
    pci_set_wmask(d, 0x0D, 1, 0xFF);                 /* latency timer */
    pci_set_wmask(d, PCI_INTERRUPT_LINE, 1, 0xFF);   /* firmware's scratch register */
    /* Status: the error bits are write-1-to-clear. */
    d->w1cmask[PCI_STATUS + 1] = 0xF9;
    return d;
}

/* Place a BAR like firmware: naturally aligned, after the previous ones. */
uint64_t pci_bus_place_bar(PciBus *bus, PciBarType type, uint64_t size)
{
    uint64_t *next = type == PCI_BAR_IO ? &bus->next_pio : &bus->next_mmio;
    uint64_t limit = type == PCI_BAR_IO ? 0x10000 : PC_PCI_MMIO_END;
    uint64_t align = size < 0x1000 && type != PCI_BAR_IO ? 0x1000 : size;  /* keep BARs in own pages */
    uint64_t addr = (*next + align - 1) & ~(align - 1);
    if (addr + size > limit) {
        return 0;
    }
    *next = addr + (size < align ? align : size);
    return addr;
}

/* Devices sharing an INTx line: the line is high while any of them asserts it. */
void pci_bus_set_intx(PciBus *bus, int gsi, bool assert)
{
    if (gsi < 0 || gsi >= PC_NUM_GSI) {
        return;
    }
    unsigned before = bus->gsi_count[gsi];
    bus->gsi_count[gsi] = assert ? before + 1 : before - 1;
    if ((before == 0) != (bus->gsi_count[gsi] == 0)) {
        machine_set_gsi(bus->machine, gsi, bus->gsi_count[gsi] != 0);
    }
}
