/* The MSIs the test double of the local APIC received (stubs.c). */
#ifndef EMBER_PC_PCI_TEST_STUBS_H
#define EMBER_PC_PCI_TEST_STUBS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TEST_MSI_MAX 256
extern uint64_t test_msi_addr[TEST_MSI_MAX];
extern uint32_t test_msi_data[TEST_MSI_MAX];
extern unsigned test_msi_count;

#ifdef __cplusplus
}
#endif

#endif
