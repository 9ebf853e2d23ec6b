// Multiboot v1: a kernel with the a.out kludge and an ELF kernel, both built here byte by byte, their
// loading, entry state and information structure; and the bad inputs.
#include "system/pc/boot/tests/boot-test-util.h"

#include <elf.h>

namespace {

constexpr uint32_t kMagic = 0x1badb002;
constexpr uint64_t kInfo = 0x10000;

void put_header(std::vector<uint8_t> &b, size_t off, uint32_t flags)
{
    put32(b, off, kMagic);
    put32(b, off + 4, flags);
    put32(b, off + 8, (uint32_t)-(kMagic + flags));
}

// An a.out-kludge kernel: header at file offset 8, loaded at 1 MiB, bss up to 1 MiB + 0x3000.
std::vector<uint8_t> make_kludge_kernel()
{
    std::vector<uint8_t> b(0x1800);
    for (size_t i = 0; i < b.size(); i++) {
        b[i] = (uint8_t)(i * 13 + 1);
    }
    put_header(b, 8, 0x10003);
    put32(b, 8 + 12, 0x100008);         // header_addr
    put32(b, 8 + 16, 0x100000);         // load_addr
    put32(b, 8 + 20, 0);                // load_end_addr: the whole file
    put32(b, 8 + 24, 0x103000);         // bss_end_addr
    put32(b, 8 + 28, 0x100040);         // entry_addr
    return b;
}

void expect_flat32(TestMachine &t)
{
    const X86VcpuState &s = t.bsp();
    EXPECT_TRUE(s.cr0 & X86_CR0_PE);
    EXPECT_FALSE(s.cr0 & X86_CR0_PG);
    EXPECT_EQ(s.efer, 0u);
    EXPECT_EQ(s.rflags & 0x20200, 0u) << "IF and VM clear";
    for (const X86Segment *seg : { &s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss }) {
        EXPECT_EQ(seg->base, 0u);
        EXPECT_EQ(seg->limit, 0xffffffffu);
        EXPECT_TRUE(seg->db) << "32-bit";
        EXPECT_TRUE(seg->present);
    }
    EXPECT_EQ(s.cs.type & 0x8, 0x8) << "code";
    EXPECT_EQ(s.ds.type & 0xa, 0x2) << "writable data";
    // The GDT in memory describes the loaded selectors: a 32-bit code segment (D set, L clear).
    ASSERT_GE(s.gdt.limit, s.cs.selector + 7);
    uint64_t code = t.r64(s.gdt.base + s.cs.selector);
    EXPECT_TRUE(code & (1ull << 54)) << "D";
    EXPECT_FALSE(code & (1ull << 53)) << "L";
    EXPECT_EQ(s.gpr[X86_RAX], 0x2badb002u);
    EXPECT_EQ(s.gpr[X86_RBX], kInfo);
}

TEST(BootMultiboot, AoutKludgeLoadAndInfo)
{
    TestMachine t(32);
    memset(t.m.ram + 0x100000, 0xcc, 0x10000);     // the bss must come out zeroed
    std::vector<uint8_t> kern = make_kludge_kernel();
    TempFile k(kern, "mbkernel");
    TempFile mod0(std::vector<uint8_t>(5000, 0xa1), "mod0");
    TempFile mod1(std::vector<uint8_t>(300, 0xb2), "mod1");
    std::string mods = mod0.path + "," + mod1.path;
    PcBootConfig cfg = { k.c_str(), mods.c_str(), "verbose=1 x" };
    boot_ok(&t.m, cfg);

    const X86VcpuState &s = t.bsp();
    expect_flat32(t);
    EXPECT_EQ(s.rip, 0x100040u);
    EXPECT_EQ(memcmp(t.at(0x100000, kern.size()), kern.data(), kern.size()), 0);
    for (uint64_t a = 0x100000 + kern.size(); a < 0x103000; a++) {
        ASSERT_EQ(t.r8(a), 0) << std::hex << a;
    }

    uint32_t flags = t.r32(kInfo);
    for (uint32_t bit : { 0u, 2u, 3u, 6u, 9u }) {
        EXPECT_TRUE(flags & (1u << bit)) << "flag bit " << bit;
    }
    EXPECT_EQ(t.r32(kInfo + 4), 639u) << "mem_lower";
    EXPECT_EQ(t.r32(kInfo + 8), 31u * 1024) << "mem_upper";
    EXPECT_EQ(t.str(t.r32(kInfo + 16)), k.path + " verbose=1 x");
    EXPECT_EQ(t.str(t.r32(kInfo + 64)), "ember");

    ASSERT_EQ(t.r32(kInfo + 20), 2u) << "mods_count";
    uint64_t mods_addr = t.r32(kInfo + 24);
    uint32_t start0 = t.r32(mods_addr), end0 = t.r32(mods_addr + 4);
    uint32_t start1 = t.r32(mods_addr + 16), end1 = t.r32(mods_addr + 20);
    EXPECT_EQ(start0, 0x103000u) << "page aligned after the bss";
    EXPECT_EQ(end0 - start0, 5000u);
    EXPECT_EQ(start1 % 4096, 0u);
    EXPECT_GE(start1, end0);
    EXPECT_EQ(end1 - start1, 300u);
    EXPECT_EQ(t.r8(start0), 0xa1);
    EXPECT_EQ(t.r8(end0), 0xcc) << "nothing past a module is touched";
    EXPECT_EQ(t.r8(end0 - 1), 0xa1);
    EXPECT_EQ(t.r8(start1 + 299), 0xb2);
    EXPECT_EQ(t.str(t.r32(mods_addr + 8)), mod0.path);
    EXPECT_EQ(t.str(t.r32(mods_addr + 24)), mod1.path);

    // The memory map: entries of size 20 (+4), RAM and the reserved BIOS area, summing to RAM size.
    uint32_t mmap_len = t.r32(kInfo + 44);
    uint64_t mmap = t.r32(kInfo + 48), ram = 0;
    int entries = 0;
    bool reserved_bios = false;
    for (uint64_t p = mmap; p < mmap + mmap_len; p += t.r32(p) + 4, entries++) {
        EXPECT_EQ(t.r32(p), 20u);
        uint64_t base = t.r64(p + 4), len = t.r64(p + 12);
        uint32_t type = t.r32(p + 20);
        if (type == 1) {
            ram += len;
        }
        reserved_bios |= type == 2 && base <= 0xf0000 && base + len >= 0x100000;
    }
    EXPECT_EQ(entries, 3);
    EXPECT_EQ(ram, (32ull << 20) - (0x100000 - 0x9fc00));
    EXPECT_TRUE(reserved_bios);
}

TEST(BootMultiboot, NoModules)
{
    TestMachine t(16);
    TempFile k(make_kludge_kernel(), "mbkernel");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    boot_ok(&t.m, cfg);
    EXPECT_EQ(t.r32(kInfo + 20), 0u);
    EXPECT_EQ(t.str(t.r32(kInfo + 16)), k.path);
}

// An ELF32 kernel linked at 0xC0100000 but loaded at 1 MiB (p_paddr), with a text and a bss segment.
std::vector<uint8_t> make_elf_kernel()
{
    const size_t text_off = 0x1000, text_len = 0x800;
    std::vector<uint8_t> b(text_off + text_len);
    Elf32_Ehdr eh = {};
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = EM_386;
    eh.e_version = EV_CURRENT;
    eh.e_entry = 0xc0100010;
    eh.e_phoff = sizeof(eh);
    eh.e_ehsize = sizeof(eh);
    eh.e_phentsize = sizeof(Elf32_Phdr);
    eh.e_phnum = 2;
    Elf32_Phdr ph[2] = {};
    ph[0].p_type = PT_LOAD;
    ph[0].p_offset = text_off;
    ph[0].p_vaddr = 0xc0100000;
    ph[0].p_paddr = 0x100000;
    ph[0].p_filesz = ph[0].p_memsz = text_len;
    ph[0].p_flags = PF_R | PF_X;
    ph[1].p_type = PT_LOAD;
    ph[1].p_offset = text_off + text_len;
    ph[1].p_vaddr = 0xc0200000;
    ph[1].p_paddr = 0x200000;
    ph[1].p_filesz = 0;
    ph[1].p_memsz = 0x2000;             // all bss
    ph[1].p_flags = PF_R | PF_W;
    memcpy(&b[0], &eh, sizeof(eh));
    memcpy(&b[sizeof(eh)], ph, sizeof(ph));
    for (size_t i = 0; i < text_len; i++) {
        b[text_off + i] = (uint8_t)(i * 5 + 2);
    }
    put_header(b, text_off + 0x20, 0x3);  // page-aligned modules, memory info; no address fields
    return b;
}

TEST(BootMultiboot, ElfLoadsAtPhysicalAddresses)
{
    TestMachine t(16);
    memset(t.m.ram + 0x200000, 0xee, 0x3000);
    std::vector<uint8_t> kern = make_elf_kernel();
    TempFile k(kern, "elfkernel");
    TempFile mod(std::vector<uint8_t>(100, 0x42), "mod");
    PcBootConfig cfg = { k.c_str(), mod.c_str(), nullptr };
    boot_ok(&t.m, cfg);
    expect_flat32(t);
    EXPECT_EQ(t.bsp().rip, 0x100010u) << "the entry's physical address";
    EXPECT_EQ(memcmp(t.at(0x100000, 0x800), &kern[0x1000], 0x800), 0);
    for (uint64_t a = 0x200000; a < 0x202000; a++) {
        ASSERT_EQ(t.r8(a), 0) << std::hex << a;
    }
    EXPECT_EQ(t.r32(t.r32(kInfo + 24)), 0x202000u) << "the module after the highest segment";
    EXPECT_EQ(t.r8(0x202000), 0x42);
    EXPECT_EQ(t.r8(0x202000 + 100), 0xee) << "nothing past the module is touched";
}

// testdata/mb-elf32.S as gcc and ld made it: ELF headers in a segment below 1 MiB, code at 1 MiB.
TEST(BootMultiboot, ToolchainBuiltElf32)
{
    const char *path = "system/pc/boot/tests/mb-elf32.elf";
    gchar *image;
    gsize len;
    ASSERT_TRUE(g_file_get_contents(path, &image, &len, nullptr)) << path;
    const auto *img = reinterpret_cast<const uint8_t *>(image);
    ASSERT_EQ(img[EI_CLASS], ELFCLASS32);
    Elf32_Ehdr eh;
    memcpy(&eh, img, sizeof(eh));

    TestMachine t(16);
    memset(t.m.ram + 0x100000, 0xcc, 0x10000);
    PcBootConfig cfg = { path, nullptr, "hello" };
    boot_ok(&t.m, cfg);
    expect_flat32(t);
    EXPECT_EQ(t.bsp().rip, eh.e_entry);
    EXPECT_EQ(eh.e_entry, 0x10000cu) << "after the 12-byte header";
    static const uint8_t code[] = { 0xb9, 0x78, 0x56, 0x34, 0x12, 0xf4 };
    EXPECT_EQ(memcmp(t.at(eh.e_entry, sizeof(code)), code, sizeof(code)), 0);
    // Every PT_LOAD landed at its p_paddr with its bss zeroed.
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr ph;
        memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD) {
            continue;
        }
        EXPECT_EQ(memcmp(t.at(ph.p_paddr, ph.p_filesz), img + ph.p_offset, ph.p_filesz), 0) << i;
        for (uint32_t a = ph.p_filesz; a < ph.p_memsz; a++) {
            ASSERT_EQ(t.r8(ph.p_paddr + a), 0) << "bss of segment " << i;
        }
    }
    EXPECT_EQ(t.str(t.r32(kInfo + 16)), std::string(path) + " hello");
    g_free(image);
}

TEST(BootMultiboot, SegmentOverBootTablesRefused)
{
    TestMachine t(16);
    std::vector<uint8_t> kern = make_kludge_kernel();
    put32(kern, 8 + 12, 0xe0008);       // header_addr: the image would sit on the ACPI tables
    put32(kern, 8 + 16, 0xe0000);
    put32(kern, 8 + 24, 0);
    TempFile k(kern, "mbkernel");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("overlaps the boot tables"), std::string::npos) << msg;
}

// A kernel in conventional memory: its modules still go above 1 MiB, clear of the EBDA and BIOS area.
TEST(BootMultiboot, LowKernelModulesAbove1MiB)
{
    TestMachine t(16);
    std::vector<uint8_t> kern = make_kludge_kernel();
    put32(kern, 8 + 12, 0x40008);       // header_addr
    put32(kern, 8 + 16, 0x40000);       // load_addr
    put32(kern, 8 + 24, 0x43000);       // bss_end_addr
    put32(kern, 8 + 28, 0x40040);       // entry
    TempFile k(kern, "lowkernel");
    TempFile mod(std::vector<uint8_t>(64, 0x77), "mod");
    PcBootConfig cfg = { k.c_str(), mod.c_str(), nullptr };
    boot_ok(&t.m, cfg);
    EXPECT_EQ(t.bsp().rip, 0x40040u);
    EXPECT_EQ(t.r8(0x40000 + 100), kern[100]);
    EXPECT_EQ(t.r32(t.r32(kInfo + 24)), 0x100000u);
    EXPECT_EQ(t.r8(0x100000), 0x77);
}

TEST(BootMultiboot, HeaderBeyond8KiBIsNotFound)
{
    TestMachine t(16);
    std::vector<uint8_t> kern(16384, 0);
    put_header(kern, 8192, 0x10003);
    TempFile k(kern, "late-header");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    EXPECT_EQ(boot_error(&t.m, cfg), k.path + ": not a bzImage or multiboot kernel");
    put32(kern, 8192 + 8, 0);           // and a bad checksum inside the window is no header either
    std::vector<uint8_t> bad(4096, 0);
    put32(bad, 0, kMagic);
    put32(bad, 4, 0x10000);
    TempFile b(bad, "bad-checksum");
    cfg.kernel = b.c_str();
    EXPECT_EQ(boot_error(&t.m, cfg), b.path + ": not a bzImage or multiboot kernel");
}

TEST(BootMultiboot, UnknownRequiredFlagRefused)
{
    TestMachine t(16);
    std::vector<uint8_t> kern = make_kludge_kernel();
    put_header(kern, 8, 0x10003 | 0x8);
    TempFile k(kern, "mbkernel");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("requires features"), std::string::npos) << msg;
}

TEST(BootMultiboot, LoadOutsideRamRefused)
{
    TestMachine t(16);
    std::vector<uint8_t> kern = make_kludge_kernel();
    put32(kern, 8 + 24, 0x2000000);     // bss up to 32 MiB in a 16 MiB guest
    TempFile k(kern, "mbkernel");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("not in guest RAM"), std::string::npos) << msg;
}

TEST(BootMultiboot, NotElfWithoutAddresses)
{
    TestMachine t(16);
    std::vector<uint8_t> kern(4096, 0x90);
    put_header(kern, 64, 0x3);
    TempFile k(kern, "mbkernel");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("is not ELF"), std::string::npos) << msg;
}

TEST(BootMultiboot, MissingAndTooBigModules)
{
    TestMachine t(16);
    TempFile k(make_kludge_kernel(), "mbkernel");
    PcBootConfig cfg = { k.c_str(), "/nonexistent/module", nullptr };
    EXPECT_EQ(boot_error(&t.m, cfg), "/nonexistent/module: No such file or directory");
    TempFile big(20ull << 20, "big-module");
    cfg.initrd = big.c_str();
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_EQ(msg.rfind(big.path + ": module does not fit", 0), 0u) << msg;
}

}  // namespace
