/* Test double for the local APICs: the machine library sends MSIs here when no accelerator owns them. */
#include "system/pc/accel.h"
#include "system/pc/pci/tests/pci-test-stubs.h"

uint64_t test_msi_addr[TEST_MSI_MAX];
uint32_t test_msi_data[TEST_MSI_MAX];
unsigned test_msi_count;

void pc_apic_deliver_msi(Machine *m, uint64_t address, uint32_t data)
{
    (void)m;
    test_msi_addr[test_msi_count % TEST_MSI_MAX] = address;
    test_msi_data[test_msi_count % TEST_MSI_MAX] = data;
    test_msi_count++;
}
