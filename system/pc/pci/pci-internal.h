/* Between the PCI host bridge and the device core (not for device models). */
#ifndef EMBER_PC_PCI_INTERNAL_H
#define EMBER_PC_PCI_INTERNAL_H

#include "system/pc/pci/pci.h"

/* An address for a new BAR (naturally aligned, after the previous ones), or 0 if the window is full. */
uint64_t pci_bus_place_bar(PciBus *bus, PciBarType type, uint64_t size);
/* One device's INTx line changed; the GSI is the OR of all devices on it. */
void pci_bus_set_intx(PciBus *bus, int gsi, bool assert);
/* Claim or release each BAR on its bus after BARs or the command register changed. */
void pci_update_mappings(PciDevice *d);
/* INTx after a change of the device's level, INTx Disable or MSI-X enable. */
void pci_update_intx(PciDevice *d);

#endif
