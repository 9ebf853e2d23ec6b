/*
 * PCI: one bus (0) behind a host bridge reached through configuration mechanism 1 (ports 0xCF8/0xCFC),
 * and the device model every PCI function is built from: a 256-byte configuration space whose bits are
 * read-only, writable or write-1-to-clear as the PCI Local Bus spec says, BARs that we place like firmware
 * would (memory from PC_PCI_MMIO_BASE, I/O from 0xC000) and that follow the guest when it reprograms them,
 * the capability list, MSI-X, and INTx wired to ISA IRQ 10 or 11 (level).
 *
 * Building a device: pci_device_new, then pci_register_bar / pci_add_capability / pci_msix_init and any
 * initial register values, then pci_device_realize (which snapshots the power-on configuration that a
 * machine reset restores and maps the BARs). Every entry point runs with the machine lock held, except
 * the building calls made before the vCPUs start.
 */
#ifndef EMBER_PC_PCI_H
#define EMBER_PC_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "system/pc/iobus.h"
#include "system/pc/machine.h"

/* Configuration space header (type 0) offsets and bits */
#define PCI_VENDOR_ID          0x00
#define PCI_DEVICE_ID          0x02
#define PCI_COMMAND            0x04
#define  PCI_COMMAND_IO        0x0001
#define  PCI_COMMAND_MEMORY    0x0002
#define  PCI_COMMAND_MASTER    0x0004
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS             0x06
#define  PCI_STATUS_INTERRUPT  0x0008
#define  PCI_STATUS_CAP_LIST   0x0010
#define PCI_REVISION_ID        0x08
#define PCI_CLASS_PROG         0x09
#define PCI_CLASS_DEVICE       0x0A   /* 16 bits: base class << 8 | subclass */
#define PCI_HEADER_TYPE        0x0E
#define PCI_BASE_ADDRESS_0     0x10
#define  PCI_BASE_ADDRESS_SPACE_IO     0x01
#define  PCI_BASE_ADDRESS_MEM_TYPE_64  0x04
#define  PCI_BASE_ADDRESS_MEM_PREFETCH 0x08
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID       0x2E
#define PCI_ROM_ADDRESS        0x30
#define PCI_CAPABILITY_LIST    0x34
#define PCI_INTERRUPT_LINE     0x3C
#define PCI_INTERRUPT_PIN      0x3D
#define PCI_CONFIG_SIZE        256

#define PCI_CAP_ID_VNDR        0x09
#define PCI_CAP_ID_MSIX        0x11
#define PCI_MSIX_FLAGS         2      /* message control, from the capability's start */
#define  PCI_MSIX_FLAGS_QSIZE  0x07FF
#define  PCI_MSIX_FLAGS_MASKALL 0x4000
#define  PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE         4
#define PCI_MSIX_PBA           8
#define PCI_MSIX_ENTRY_SIZE    16
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 1

#define PCI_NUM_BARS           6
#define PCI_MAX_DEVICES        32     /* slots on bus 0, one function each */
#define PCI_PIO_BASE           0xC000 /* where we place I/O BARs */

typedef struct PciBus PciBus;
typedef struct PciDevice PciDevice;

typedef enum PciBarType {
    PCI_BAR_NONE,
    PCI_BAR_IO,
    PCI_BAR_MEM32,
    PCI_BAR_MEM64,     /* takes two BAR registers */
} PciBarType;

typedef struct PciBar {
    PciBarType type;
    uint64_t size;           /* a power of two */
    const IoOps *ops;
    void *opaque;
    bool mapped;             /* claimed on the bus at 'addr' */
    uint64_t addr;
} PciBar;

typedef struct PciMsix {
    unsigned nvectors;       /* 0: no MSI-X */
    uint8_t cap;             /* offset of the capability */
    int bar;
    uint8_t *table;          /* nvectors * 16 bytes, little-endian as the guest sees it */
    uint64_t *pba;           /* pending bits */
    /* One per vector: how its message is sent (an irqfd under KVM). */
    MachineMsiRoute **routes;
} PciMsix;

struct PciDevice {
    PciBus *bus;
    Machine *machine;
    char name[32];
    uint8_t devfn;           /* slot << 3 (function 0) */
    uint8_t config[PCI_CONFIG_SIZE];
    uint8_t wmask[PCI_CONFIG_SIZE];    /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SIZE];  /* bits a guest write of 1 clears */
    uint8_t reset_config[PCI_CONFIG_SIZE];
    PciBar bars[PCI_NUM_BARS];
    PciMsix msix;
    int gsi;                 /* INTx line: ISA IRQ 10 or 11 */
    bool intx_level;         /* what the device drives (before INTx Disable) */
    bool intx_asserted;      /* what the bus sees */
    uint8_t cap_free;        /* where the next capability goes (0: 0x40) */
    /* Optional device hooks: before a config read returns (to refresh bytes that are windows onto
       something else); after a config write the core handled; at a machine reset. */
    void (*config_read)(PciDevice *d, unsigned offset, unsigned size);
    void (*config_write)(PciDevice *d, unsigned offset, uint32_t value, unsigned size);
    void (*reset)(PciDevice *d);
    void *opaque;            /* the device model's */
};

/* The host bridge at 00:00.0 and configuration mechanism 1 on m->pio. Registers a machine reset hook. */
PciBus *pci_host_create(Machine *m);
Machine *pci_bus_machine(PciBus *bus);
/* The device at slot (0..31) of bus 0, or NULL. */
PciDevice *pci_bus_device(PciBus *bus, unsigned slot);

/* A new function 0 in the next free slot; NULL if the bus is full. class_code is base << 16 | sub << 8 |
   prog-if. The header is filled in; subsystem IDs default to vendor/device. */
PciDevice *pci_device_new(PciBus *bus, const char *name, uint16_t vendor, uint16_t device,
                          uint32_t class_code, uint8_t revision);
void pci_set_subsystem(PciDevice *d, uint16_t subsystem_vendor, uint16_t subsystem);
/* Declare BAR n of a size (power of two, memory >= 16 bytes, I/O >= 4) and place it. 0 or -errno. */
int pci_register_bar(PciDevice *d, int bar, PciBarType type, uint64_t size, const IoOps *ops,
                     void *opaque);
/* Add a capability of size bytes (id and next pointer included) to the list: its offset, or 0 if the
   configuration space is full. The caller fills in the rest and makes fields writable with
   pci_set_wmask. */
uint8_t pci_add_capability(PciDevice *d, uint8_t id, uint8_t size);
void pci_set_wmask(PciDevice *d, unsigned offset, unsigned size, uint32_t mask);
/* Freeze the power-on configuration (restored by a machine reset) and map the BARs. */
void pci_device_realize(PciDevice *d);

/* Configuration space access as the host bridge performs it (offset and size naturally aligned). */
uint32_t pci_config_read(PciDevice *d, unsigned offset, unsigned size);
void pci_config_write(PciDevice *d, unsigned offset, uint32_t value, unsigned size);
/* Raw little-endian accessors for device models and tests (no masks). */
uint32_t pci_get_le(const uint8_t *p, unsigned size);
void pci_set_le(uint8_t *p, unsigned size, uint32_t value);

/* Where BAR n currently answers on its bus, if it does. */
bool pci_bar_mapped(const PciDevice *d, int bar, uint64_t *addr);

/* INTx (pin A): drive the line; ignored while INTx Disable is set or MSI-X is enabled. */
void pci_set_irq(PciDevice *d, int level);

/* MSI-X with nvectors entries: the table at offset 0 of BAR bar (a 32-bit memory BAR registered here),
   the PBA at 0x800. 0 or -errno. */
int pci_msix_init(PciDevice *d, unsigned nvectors, int bar);
bool pci_msix_enabled(const PciDevice *d);
/* Signal a vector: sent now through its MachineMsiRoute (irqfd under KVM), or left pending while masked. */
void pci_msix_notify(PciDevice *d, unsigned vector);
/* Internal to the PCI core: the message control register changed; back to power-on state. */
void pci_msix_control_written(PciDevice *d);
void pci_msix_reset(PciDevice *d);

#endif
