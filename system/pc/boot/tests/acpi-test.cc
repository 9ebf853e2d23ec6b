// The ACPI tables, parsed back from guest RAM the way an OS finds them: RSDP -> XSDT -> FADT/MADT ->
// DSDT/FACS, every checksum verified.
#include "system/pc/boot/tests/boot-test-util.h"

#include <map>

namespace {

uint8_t sum(TestMachine &t, uint64_t gpa, uint64_t len)
{
    const uint8_t *p = t.at(gpa, len);
    uint8_t s = 0;
    for (uint64_t i = 0; i < len; i++) {
        s += p[i];
    }
    return s;
}

// The tables the XSDT lists, by signature, each with a valid checksum.
std::map<std::string, uint64_t> find_tables(TestMachine &t)
{
    std::map<std::string, uint64_t> out;
    uint64_t rsdp = PC_ACPI_RSDP_ADDR;
    EXPECT_EQ(memcmp(t.at(rsdp, 8), "RSD PTR ", 8), 0);
    EXPECT_EQ(sum(t, rsdp, 20), 0) << "RSDP checksum";
    EXPECT_EQ(t.r8(rsdp + 15), 2) << "revision";
    EXPECT_EQ(t.r32(rsdp + 20), 36u);
    EXPECT_EQ(sum(t, rsdp, 36), 0) << "extended checksum";
    EXPECT_EQ(rsdp % 16, 0u);
    uint64_t xsdt = t.r64(rsdp + 24), rsdt = t.r32(rsdp + 16);
    EXPECT_EQ(memcmp(t.at(xsdt, 4), "XSDT", 4), 0);
    uint32_t xlen = t.r32(xsdt + 4);
    EXPECT_EQ(sum(t, xsdt, xlen), 0) << "XSDT checksum";
    EXPECT_EQ(memcmp(t.at(rsdt, 4), "RSDT", 4), 0);
    EXPECT_EQ(sum(t, rsdt, t.r32(rsdt + 4)), 0) << "RSDT checksum";
    EXPECT_EQ((t.r32(rsdt + 4) - 36) / 4, (xlen - 36) / 8) << "the RSDT lists the same tables";
    for (uint64_t p = xsdt + 36; p < xsdt + xlen; p += 8) {
        uint64_t table = t.r64(p);
        std::string sig(reinterpret_cast<const char *>(t.at(table, 4)), 4);
        EXPECT_EQ(sum(t, table, t.r32(table + 4)), 0) << sig << " checksum";
        EXPECT_GE(table, 0xe0000u) << sig << " in the BIOS area";
        EXPECT_LT(table + t.r32(table + 4), 0x100000u) << sig;
        out[sig] = table;
    }
    return out;
}

TEST(BootAcpi, MadtTwoCpus)
{
    TestMachine t(16, 2);
    GError *err = nullptr;
    ASSERT_TRUE(pc_acpi_build(&t.m, &err));
    auto tables = find_tables(t);
    ASSERT_TRUE(tables.count("APIC"));
    uint64_t madt = tables["APIC"];
    EXPECT_EQ(t.r32(madt + 36), 0xfee00000u) << "local APIC address";
    EXPECT_EQ(t.r32(madt + 40) & 1, 1u) << "PCAT_COMPAT";
    std::vector<int> apic_ids;
    int ioapics = 0;
    std::map<int, std::pair<uint32_t, uint16_t>> overrides;
    bool nmi = false;
    uint64_t end = madt + t.r32(madt + 4);
    for (uint64_t e = madt + 44; e < end; e += t.r8(e + 1)) {
        ASSERT_GE(t.r8(e + 1), 2);
        switch (t.r8(e)) {
        case 0:
            EXPECT_EQ(t.r8(e + 1), 8);
            EXPECT_EQ(t.r32(e + 4) & 1, 1u) << "enabled";
            apic_ids.push_back(t.r8(e + 3));
            break;
        case 1:
            EXPECT_EQ(t.r8(e + 1), 12);
            EXPECT_EQ(t.r32(e + 4), 0xfec00000u);
            EXPECT_EQ(t.r32(e + 8), 0u) << "GSI base";
            ioapics++;
            break;
        case 2:
            EXPECT_EQ(t.r8(e + 1), 10);
            EXPECT_EQ(t.r8(e + 2), 0) << "ISA";
            overrides[t.r8(e + 3)] = { t.r32(e + 4), t.r16(e + 8) };
            break;
        case 4:
            EXPECT_EQ(t.r8(e + 5), 1) << "LINT1";
            nmi = true;
            break;
        default:
            ADD_FAILURE() << "unexpected MADT entry type " << (int)t.r8(e);
        }
    }
    EXPECT_EQ(apic_ids, (std::vector<int>{ 0, 1 }));
    EXPECT_EQ(ioapics, 1);
    ASSERT_TRUE(overrides.count(0));
    EXPECT_EQ(overrides[0].first, 2u) << "IRQ0 -> GSI2";
    ASSERT_TRUE(overrides.count(9));
    EXPECT_EQ(overrides[9].first, 9u);
    EXPECT_EQ(overrides[9].second & 0x3, 0x1) << "SCI active high";
    EXPECT_EQ(overrides[9].second & 0xc, 0xc) << "SCI level-triggered";
    EXPECT_TRUE(nmi);
}

TEST(BootAcpi, MadtFollowsCpuCount)
{
    for (int cpus : { 1, 4 }) {
        TestMachine t(16, cpus);
        GError *err = nullptr;
        ASSERT_TRUE(pc_acpi_build(&t.m, &err));
        uint64_t madt = find_tables(t)["APIC"];
        int n = 0;
        for (uint64_t e = madt + 44; e < madt + t.r32(madt + 4); e += t.r8(e + 1)) {
            n += t.r8(e) == 0;
        }
        EXPECT_EQ(n, cpus);
    }
}

TEST(BootAcpi, FadtPmBlockAndReset)
{
    TestMachine t(16);
    GError *err = nullptr;
    ASSERT_TRUE(pc_acpi_build(&t.m, &err));
    auto tables = find_tables(t);
    ASSERT_TRUE(tables.count("FACP"));
    uint64_t f = tables["FACP"];
    EXPECT_EQ(t.r32(f + 4), 276u) << "ACPI 6 length";
    EXPECT_GE(t.r8(f + 8), 5) << "revision";
    EXPECT_EQ(t.r16(f + 46), PC_ACPI_SCI_IRQ);
    EXPECT_EQ(t.r32(f + 48), 0u) << "SMI_CMD: always in ACPI mode";
    EXPECT_EQ(t.r32(f + 56), 0x600u) << "PM1a_EVT_BLK";
    EXPECT_EQ(t.r32(f + 64), 0x604u) << "PM1a_CNT_BLK";
    EXPECT_EQ(t.r32(f + 76), 0x608u) << "PM_TMR_BLK";
    EXPECT_EQ(t.r8(f + 88), 4);
    EXPECT_EQ(t.r8(f + 89), 2);
    EXPECT_EQ(t.r8(f + 91), 4);
    EXPECT_EQ(t.r32(f + 80), 0x620u) << "GPE0_BLK";
    EXPECT_EQ(t.r8(f + 92), 4) << "GPE0_BLK_LEN";
    EXPECT_EQ(t.r64(f + 220 + 4), 0x620u) << "X_GPE0_BLK";
    // The 64-bit versions agree (system I/O space, the same ports).
    EXPECT_EQ(t.r8(f + 148), 1);
    EXPECT_EQ(t.r64(f + 148 + 4), 0x600u);
    EXPECT_EQ(t.r64(f + 172 + 4), 0x604u);
    EXPECT_EQ(t.r64(f + 208 + 4), 0x608u);
    EXPECT_TRUE(t.r16(f + 109) & 0x2) << "8042 present";
    uint32_t flags = t.r32(f + 112);
    EXPECT_TRUE(flags & 1) << "WBINVD";
    EXPECT_TRUE(flags & (1u << 10)) << "RESET_REG_SUP";
    EXPECT_FALSE(flags & (1u << 4)) << "fixed-feature power button";
    EXPECT_FALSE(flags & (1u << 20)) << "not hardware-reduced";
    EXPECT_EQ(t.r8(f + 116), 1) << "reset register in I/O space";
    EXPECT_EQ(t.r64(f + 116 + 4), 0xcf9u);
    EXPECT_EQ(t.r8(f + 128), 6) << "reset value";

    uint64_t facs = t.r32(f + 36);
    EXPECT_EQ(memcmp(t.at(facs, 4), "FACS", 4), 0);
    EXPECT_EQ(facs % 64, 0u);
    EXPECT_EQ(t.r32(facs + 4), 64u);

    uint64_t dsdt = t.r32(f + 40);
    EXPECT_EQ(t.r64(f + 140), dsdt) << "X_DSDT";
    EXPECT_EQ(memcmp(t.at(dsdt, 4), "DSDT", 4), 0);
    uint32_t dlen = t.r32(dsdt + 4);
    EXPECT_EQ(sum(t, dsdt, dlen), 0) << "DSDT checksum";
    // Name(\_S5_, Package(4) { SLP_TYP, SLP_TYP, 0, 0 }) somewhere in the AML.
    std::string aml(reinterpret_cast<const char *>(t.at(dsdt + 36, dlen - 36)), dlen - 36);
    size_t at = aml.find("_S5_");
    ASSERT_NE(at, std::string::npos) << "no \\_S5 in the DSDT";
    ASSERT_GE(at, 1u);
    EXPECT_TRUE(aml[at - 1] == 0x08 || (aml[at - 1] == '\\' && at >= 2 && aml[at - 2] == 0x08)) << "NameOp";
    ASSERT_GE(aml.size(), at + 14);
    EXPECT_EQ((uint8_t)aml[at + 4], 0x12) << "PackageOp";
    EXPECT_EQ((uint8_t)aml[at + 5], 10) << "PkgLength: itself, the count and four BytePrefix elements";
    EXPECT_EQ((uint8_t)aml[at + 6], 4) << "four elements";
    EXPECT_EQ((uint8_t)aml[at + 7], 0x0a);
    EXPECT_EQ((uint8_t)aml[at + 8], PC_ACPI_S5_SLP_TYP);
    EXPECT_EQ((uint8_t)aml[at + 9], 0x0a);
    EXPECT_EQ((uint8_t)aml[at + 10], PC_ACPI_S5_SLP_TYP);
}

// Device(PCI0) under \_SB with the PCI host bridge id and the BAR window in its _CRS.
TEST(BootAcpi, DsdtHasPciHostBridge)
{
    TestMachine t(16);
    GError *err = nullptr;
    ASSERT_TRUE(pc_acpi_build(&t.m, &err));
    uint64_t dsdt = t.r32(find_tables(t)["FACP"] + 40);
    uint32_t dlen = t.r32(dsdt + 4);
    std::string aml(reinterpret_cast<const char *>(t.at(dsdt + 36, dlen - 36)), dlen - 36);

    size_t scope = aml.find(std::string("\x10", 1));
    ASSERT_NE(scope, std::string::npos);
    size_t dev = aml.find(std::string("\x5b\x82", 2));
    ASSERT_NE(dev, std::string::npos) << "DeviceOp";
    // Scope's PkgLength (two bytes here) reaches exactly the end of the table.
    uint8_t lead = (uint8_t)aml[scope + 1];
    size_t scope_len = (lead >> 6) == 1 ? ((lead & 0xf) | (uint8_t)aml[scope + 2] << 4) : (lead & 0x3f);
    EXPECT_EQ(scope + 1 + scope_len, aml.size()) << "the scope's length covers the rest of the AML";
    EXPECT_EQ(aml.substr(scope + 1 + ((lead >> 6) + 1), 5), "\\_SB_");
    size_t name_at = dev + 2 + (((uint8_t)aml[dev + 2] >> 6) + 1);
    EXPECT_EQ(aml.substr(name_at, 4), "PCI0");
    EXPECT_NE(aml.find(std::string("_HID\x0c\x41\xd0\x0a\x03", 9)), std::string::npos) << "EisaId(PNP0A03)";
    EXPECT_NE(aml.find("_UID"), std::string::npos);
    // DWordMemory descriptor: min 0xC0000000, max 0xFEBFFFFF, length 0x3EC00000.
    std::string mem("\x87\x17\x00\x00", 4);
    size_t m = aml.find(mem);
    ASSERT_NE(m, std::string::npos) << "no 32-bit memory window";
    auto d32 = [&](size_t off) {
        return (uint32_t)(uint8_t)aml[off] | (uint32_t)(uint8_t)aml[off + 1] << 8 |
               (uint32_t)(uint8_t)aml[off + 2] << 16 | (uint32_t)(uint8_t)aml[off + 3] << 24;
    };
    EXPECT_EQ(d32(m + 10), (uint32_t)PC_PCI_MMIO_BASE);
    EXPECT_EQ(d32(m + 14), (uint32_t)(PC_PCI_MMIO_END - 1));
    EXPECT_EQ(d32(m + 22), (uint32_t)(PC_PCI_MMIO_END - PC_PCI_MMIO_BASE));
    EXPECT_NE(aml.find(std::string("\x47\x01\xf8\x0c\xf8\x0c\x01\x08", 8)), std::string::npos) << "IO(0xCF8, 8)";
    EXPECT_NE(aml.find(std::string("\x79\x00", 2)), std::string::npos) << "EndTag";
}

TEST(BootAcpi, TooManyCpusRefused)
{
    TestMachine t(16, 1);
    t.m.nr_vcpus = 256;
    GError *err = nullptr;
    EXPECT_FALSE(pc_acpi_build(&t.m, &err));
    ASSERT_NE(err, nullptr);
    EXPECT_NE(std::string(err->message).find("256 CPUs"), std::string::npos);
    g_error_free(err);
}

}  // namespace
