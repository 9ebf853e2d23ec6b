/*
 * The ACPI tables (ACPI 6.x) a PC firmware would leave for the OS, written into the BIOS area:
 *   RSDP (revision 2) at PC_ACPI_RSDP_ADDR -> XSDT (and an RSDT for ACPI 1.0 readers) -> FADT, MADT;
 *   FADT -> FACS, DSDT.
 * The MADT lists one local APIC per vCPU, the I/O APIC and the ISA overrides; the FADT describes the
 * PM block of devices/ (PM1a event/control, PM timer, SCI on IRQ 9), the reset register (0xCF9) and
 * the legacy devices; the DSDT's AML holds \_S5 so the OS knows how to power off, and the PCI host
 * bridge through which Linux finds the PCI devices.
 */
#include "system/pc/boot/boot-internal.h"

#include "system/pc/boot/boot-aml.h"

#include <string.h>

#define ACPI_AREA_SIZE (PC_ACPI_RSDP_ADDR - PC_BOOT_ACPI_BASE)   /* tables below the RSDP */
#define ACPI_HDR_LEN 36

/* Every table's header: signature, length, revision, checksum, who made it. */
static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    pc_st32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, "EMBER ", 6);          /* OEM ID */
    memcpy(t + 16, "EMBERPC ", 8);        /* OEM table ID */
    pc_st32(t + 24, 1);                   /* OEM revision */
    memcpy(t + 28, "EMBR", 4);            /* creator ID */
    pc_st32(t + 32, 1);                   /* creator revision */
}

/* The byte that makes the first len bytes sum to zero (placed at *slot, which must be inside). */
static void acpi_checksum(uint8_t *t, size_t len, uint8_t *slot)
{
    uint8_t sum = 0;
    *slot = 0;
    for (size_t i = 0; i < len; i++) {
        sum += t[i];
    }
    *slot = (uint8_t)-sum;
}

static void acpi_finish(uint8_t *t) { acpi_checksum(t, pc_ld32(t + 4), t + 9); }

/* Generic Address Structure: an I/O port register of bit_width bits, accessed access_size-wise. */
static void acpi_gas_io(uint8_t *g, uint8_t bit_width, uint8_t access_size, uint64_t port)
{
    g[0] = 1;                             /* system I/O space */
    g[1] = bit_width;
    g[2] = 0;
    g[3] = access_size;                   /* 1 byte, 2 word, 3 dword */
    pc_st64(g + 4, port);
}

/* An allocator over the table area: each table at its alignment. */
typedef struct AcpiArea {
    uint8_t *buf;
    size_t used;
} AcpiArea;

static uint8_t *acpi_alloc(AcpiArea *a, size_t len, size_t align, uint32_t *gpa)
{
    a->used = (a->used + align - 1) & ~(align - 1);
    uint8_t *p = a->buf + a->used;
    *gpa = (uint32_t)(PC_BOOT_ACPI_BASE + a->used);
    a->used += len;
    g_assert(a->used <= ACPI_AREA_SIZE);   /* the tables are small and of fixed count */
    return p;
}

/* FACS: 64 bytes, 64-byte aligned; nothing in it matters without sleep states other than S5. */
static uint32_t acpi_build_facs(AcpiArea *a)
{
    uint32_t gpa;
    uint8_t *t = acpi_alloc(a, 64, 64, &gpa);
    memcpy(t, "FACS", 4);
    pc_st32(t + 4, 64);
    t[32] = 2;                            /* version */
    return gpa;
}

/*
 * DSDT:
 *   Name(\_S5, Package(4) { SLP_TYP, SLP_TYP, 0, 0 })      how to power off
 *   Scope(\_SB) { Device(PCI0) { _HID PNP0A03, _UID 0, _CRS } }
 * Linux scans PCI through the ACPI host bridge device only (with ACPI on, it does not probe bus 0 by
 * itself), so PCI0 must exist. Its _CRS gives the bus numbers, the config ports, the I/O space around
 * them and the 32-bit BAR window. There is no _PRT: INTx routing comes from the Interrupt Line
 * register, which Linux uses (level, active low) when ACPI has no entry for a device.
 */
static uint32_t acpi_build_dsdt(AcpiArea *a)
{
    GByteArray *aml = g_byte_array_new();
    const uint8_t s5[4] = { PC_ACPI_S5_SLP_TYP, PC_ACPI_S5_SLP_TYP, 0, 0 };
    aml_name_byte_package(aml, "\\_S5_", s5, 4);

    GByteArray *crs = g_byte_array_new();
    aml_res_bus_numbers(crs, 0, 0xff);
    aml_res_io_fixed(crs, 0xcf8, 8);
    aml_res_io_window(crs, 0x0000, 0x0cf7);
    aml_res_io_window(crs, 0x0d00, 0xffff);
    aml_res_mem32_window(crs, (uint32_t)PC_PCI_MMIO_BASE, (uint32_t)(PC_PCI_MMIO_END - 1));
    aml_res_end(crs);

    GByteArray *pci0 = g_byte_array_new();
    aml_name_eisa_id(pci0, "_HID", "PNP0A03");
    aml_name_integer(pci0, "_UID", 0);
    aml_name_buffer(pci0, "_CRS", crs->data, crs->len);
    GByteArray *sb = g_byte_array_new();
    aml_device(sb, "PCI0", pci0);
    aml_scope(aml, "\\_SB_", sb);

    uint32_t len = ACPI_HDR_LEN + aml->len, gpa;
    uint8_t *t = acpi_alloc(a, len, 16, &gpa);
    acpi_header(t, "DSDT", len, 2);       /* revision 2: 64-bit integers in AML */
    memcpy(t + ACPI_HDR_LEN, aml->data, aml->len);
    acpi_finish(t);
    g_byte_array_free(crs, TRUE);
    g_byte_array_free(pci0, TRUE);
    g_byte_array_free(sb, TRUE);
    g_byte_array_free(aml, TRUE);
    return gpa;
}

/* FADT revision 6 (276 bytes): the fixed hardware of a PC without SMM, always in ACPI mode. */
enum {
    FADT_FIRMWARE_CTRL = 36, FADT_DSDT = 40, FADT_SCI_INT = 46, FADT_SMI_CMD = 48, FADT_PM1A_EVT = 56,
    FADT_PM1A_CNT = 64, FADT_PM_TMR = 76, FADT_GPE0 = 80, FADT_PM1_EVT_LEN = 88, FADT_GPE0_LEN = 92, FADT_PM1_CNT_LEN = 89, FADT_PM_TMR_LEN = 91,
    FADT_P_LVL2_LAT = 96, FADT_P_LVL3_LAT = 98, FADT_IAPC_BOOT_ARCH = 109, FADT_FLAGS = 112,
    FADT_RESET_REG = 116, FADT_RESET_VALUE = 128, FADT_MINOR = 131, FADT_X_DSDT = 140,
    FADT_X_PM1A_EVT = 148, FADT_X_PM1A_CNT = 172, FADT_X_PM_TMR = 208, FADT_X_GPE0 = 220, FADT_LEN = 276,
};
enum {
    FADT_F_WBINVD = 1u << 0, FADT_F_PROC_C1 = 1u << 2, FADT_F_SLP_BUTTON = 1u << 5, FADT_F_FIX_RTC = 1u << 6,
    FADT_F_RESET_REG_SUP = 1u << 10,
};
enum { BOOT_ARCH_LEGACY_DEVICES = 1u << 0, BOOT_ARCH_8042 = 1u << 1, BOOT_ARCH_VGA_NOT_PRESENT = 1u << 2 };

static uint32_t acpi_build_fadt(AcpiArea *a, uint32_t facs, uint32_t dsdt)
{
    uint32_t gpa;
    uint8_t *t = acpi_alloc(a, FADT_LEN, 16, &gpa);
    acpi_header(t, "FACP", FADT_LEN, 6);
    pc_st32(t + FADT_FIRMWARE_CTRL, facs);
    pc_st32(t + FADT_DSDT, dsdt);
    pc_st64(t + FADT_X_DSDT, dsdt);
    pc_st16(t + FADT_SCI_INT, PC_ACPI_SCI_IRQ);
    pc_st32(t + FADT_SMI_CMD, 0);         /* no SMM: the hardware is always in ACPI mode */

    /*
     * The PM block of devices/acpi-pm.c (its layout is in devices/pc-devices.h): PM1a_EVT (status +
     * enable, 2 x 16 bits), PM1a_CNT (16 bits), the PM timer (32 bits), GPE0 (status + enable bytes).
     */
    pc_st32(t + FADT_PM1A_EVT, PC_ACPI_PM_BASE);
    pc_st32(t + FADT_PM1A_CNT, PC_ACPI_PM_BASE + 0x4);
    pc_st32(t + FADT_PM_TMR, PC_ACPI_PM_BASE + 0x8);
    pc_st32(t + FADT_GPE0, PC_ACPI_PM_BASE + 0x20);
    t[FADT_PM1_EVT_LEN] = 4;
    t[FADT_PM1_CNT_LEN] = 2;
    t[FADT_PM_TMR_LEN] = 4;
    t[FADT_GPE0_LEN] = 4;
    acpi_gas_io(t + FADT_X_PM1A_EVT, 32, 2, PC_ACPI_PM_BASE);
    acpi_gas_io(t + FADT_X_PM1A_CNT, 16, 2, PC_ACPI_PM_BASE + 0x4);
    acpi_gas_io(t + FADT_X_PM_TMR, 32, 3, PC_ACPI_PM_BASE + 0x8);
    acpi_gas_io(t + FADT_X_GPE0, 32, 1, PC_ACPI_PM_BASE + 0x20);

    /* Latencies above 100 and 1000 us say C2 and C3 do not exist. */
    pc_st16(t + FADT_P_LVL2_LAT, 101);
    pc_st16(t + FADT_P_LVL3_LAT, 1001);
    pc_st16(t + FADT_IAPC_BOOT_ARCH, BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042 | BOOT_ARCH_VGA_NOT_PRESENT);
    /*
     * The power button is the fixed-feature one (PWR_BUTTON clear: its event is in PM1a_EVT); there is
     * no sleep button and no RTC wake status; the PM timer is 24 bits (TMR_VAL_EXT clear).
     */
    pc_st32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON | FADT_F_FIX_RTC |
                            FADT_F_RESET_REG_SUP);
    acpi_gas_io(t + FADT_RESET_REG, 8, 1, 0xcf9);
    t[FADT_RESET_VALUE] = 0x06;           /* full reset through the reset control register */
    t[FADT_MINOR] = 0;
    acpi_finish(t);
    return gpa;
}

/* MADT: local APIC address, PC-AT compatible 8259s present, then the interrupt controller entries. */
enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_NMI = 4 };
enum { MADT_PCAT_COMPAT = 1u << 0 };
enum { MPS_ACTIVE_HIGH = 0x1, MPS_LEVEL = 0xc };

static uint32_t acpi_build_madt(AcpiArea *a, int nr_cpus)
{
    uint32_t len = ACPI_HDR_LEN + 8 + 8 * nr_cpus + 12 + 2 * 10 + 6, gpa;
    uint8_t *t = acpi_alloc(a, len, 16, &gpa);
    acpi_header(t, "APIC", len, 5);
    pc_st32(t + 36, (uint32_t)PC_LAPIC_BASE);
    pc_st32(t + 40, MADT_PCAT_COMPAT);
    uint8_t *e = t + 44;
    for (int i = 0; i < nr_cpus; i++, e += 8) {
        e[0] = MADT_LAPIC;
        e[1] = 8;
        e[2] = (uint8_t)i;                /* ACPI processor UID */
        e[3] = (uint8_t)i;                /* APIC ID: the vCPU index (Vcpu.index) */
        pc_st32(e + 4, 1);                /* enabled */
    }
    e[0] = MADT_IOAPIC;
    e[1] = 12;
    e[2] = 0;                             /* I/O APIC ID (its reset value) */
    pc_st32(e + 4, (uint32_t)PC_IOAPIC_BASE);
    pc_st32(e + 8, 0);                    /* GSI base */
    e += 12;
    /* ISA IRQ 0 (the PIT) is wired to pin 2; the SCI (IRQ 9) is level-triggered, active high. */
    static const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } overrides[] = {
        { 0, 2, 0 },
        { PC_ACPI_SCI_IRQ, PC_ACPI_SCI_IRQ, MPS_ACTIVE_HIGH | MPS_LEVEL },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(overrides); i++, e += 10) {
        e[0] = MADT_ISO;
        e[1] = 10;
        e[2] = 0;                         /* bus: ISA */
        e[3] = overrides[i].irq;
        pc_st32(e + 4, overrides[i].gsi);
        pc_st16(e + 8, overrides[i].flags);
    }
    /* Every CPU's LINT1 is the NMI input. */
    e[0] = MADT_LAPIC_NMI;
    e[1] = 6;
    e[2] = 0xff;                          /* all processors */
    pc_st16(e + 3, 0);
    e[5] = 1;
    acpi_finish(t);
    return gpa;
}

static uint32_t acpi_build_sdt(AcpiArea *a, const char *sig, const uint32_t *tables, int n, int entry_size)
{
    uint32_t len = ACPI_HDR_LEN + (uint32_t)(entry_size * n), gpa;
    uint8_t *t = acpi_alloc(a, len, 16, &gpa);
    acpi_header(t, sig, len, 1);
    for (int i = 0; i < n; i++) {
        if (entry_size == 8) {
            pc_st64(t + ACPI_HDR_LEN + 8 * i, tables[i]);
        } else {
            pc_st32(t + ACPI_HDR_LEN + 4 * i, tables[i]);
        }
    }
    acpi_finish(t);
    return gpa;
}

bool pc_acpi_build(Machine *m, GError **err)
{
    if (!machine_ram_ptr(m, PC_BOOT_ACPI_BASE, PC_BOOT_BIOS_END - PC_BOOT_ACPI_BASE)) {
        g_set_error(err, PC_BOOT_ERROR, 0, "ACPI tables: the guest has no RAM at the BIOS area");
        return false;
    }
    if (m->nr_vcpus < 1 || m->nr_vcpus > 255) {
        g_set_error(err, PC_BOOT_ERROR, 0, "ACPI tables: %d CPUs do not fit xAPIC IDs (1..255)", m->nr_vcpus);
        return false;
    }
    AcpiArea a = { .buf = g_malloc0(ACPI_AREA_SIZE), .used = 0 };
    uint32_t facs = acpi_build_facs(&a);
    uint32_t dsdt = acpi_build_dsdt(&a);
    uint32_t tables[] = { acpi_build_fadt(&a, facs, dsdt), acpi_build_madt(&a, m->nr_vcpus) };
    uint32_t xsdt = acpi_build_sdt(&a, "XSDT", tables, G_N_ELEMENTS(tables), 8);
    uint32_t rsdt = acpi_build_sdt(&a, "RSDT", tables, G_N_ELEMENTS(tables), 4);
    pc_boot_ram_write(m, PC_BOOT_ACPI_BASE, a.buf, a.used);
    g_free(a.buf);

    /* RSDP revision 2: the first 20 bytes have their checksum, all 36 the extended one. */
    uint8_t rsdp[36] = { 0 };
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "EMBER ", 6);
    rsdp[15] = 2;
    pc_st32(rsdp + 16, rsdt);
    pc_st32(rsdp + 20, sizeof(rsdp));
    pc_st64(rsdp + 24, xsdt);
    acpi_checksum(rsdp, 20, rsdp + 8);
    acpi_checksum(rsdp, sizeof(rsdp), rsdp + 32);
    pc_boot_ram_write(m, PC_ACPI_RSDP_ADDR, rsdp, sizeof(rsdp));
    return true;
}
