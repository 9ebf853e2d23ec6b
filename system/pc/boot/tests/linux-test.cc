// The Linux boot protocol: a synthetic bzImage's header decides where the kernel goes, which entry
// the CPU starts at and what the zero page says; then the real Debian kernel if the cache has it.
#include "system/pc/boot/tests/boot-test-util.h"

namespace {

constexpr uint64_t kZeroPage = 0x7000;
constexpr uint64_t kPayloadLen = 8192;

struct BzOptions {
    uint16_t version = 0x20f;
    uint16_t xloadflags = 0x1;          // XLF_KERNEL_64
    uint8_t loadflags = 0x1;            // LOADED_HIGH
    uint32_t init_size = 0x800000;
    uint64_t pref_address = 0x1000000;
    uint32_t initrd_addr_max = 0x7fffffff;
    uint32_t cmdline_size = 2047;
};

// A bzImage: 4 setup sectors after the boot sector, then a payload whose bytes are their offset's low bits.
std::vector<uint8_t> make_bzimage(const BzOptions &o)
{
    const size_t setup = 5 * 512;
    std::vector<uint8_t> b(setup + kPayloadLen, 0);
    b[0x1f1] = 4;
    put16(b, 0x1fe, 0xaa55);
    b[0x200] = 0xeb;
    b[0x201] = 0x6a;                    // header ends at 0x26c
    memcpy(&b[0x202], "HdrS", 4);
    put16(b, 0x206, o.version);
    b[0x211] = o.loadflags;
    put32(b, 0x214, 0x100000);
    put32(b, 0x22c, o.initrd_addr_max);
    put32(b, 0x230, 0x200000);
    b[0x234] = 1;
    put16(b, 0x236, o.xloadflags);
    put32(b, 0x238, o.cmdline_size);
    put64(b, 0x258, o.pref_address);
    put32(b, 0x260, o.init_size);
    for (size_t i = 0; i < kPayloadLen; i++) {
        b[setup + i] = (uint8_t)(i * 7 + 3);
    }
    return b;
}

// Walk the 4-level page tables from CR3 the way the MMU does (2 MiB pages).
uint64_t translate(TestMachine &t, uint64_t va)
{
    uint64_t pml4e = t.r64((t.bsp().cr3 & ~0xfffull) + 8 * ((va >> 39) & 511));
    EXPECT_TRUE(pml4e & 1);
    uint64_t pdpte = t.r64((pml4e & ~0xfffull) + 8 * ((va >> 30) & 511));
    EXPECT_TRUE(pdpte & 1);
    uint64_t pde = t.r64((pdpte & ~0xfffull) + 8 * ((va >> 21) & 511));
    EXPECT_TRUE((pde & 1) && (pde & 0x80)) << std::hex << va;
    return (pde & ~0x1fffffull) + (va & 0x1fffff);
}

TEST(BootLinux, Entry64State)
{
    TestMachine t(64);
    TempFile k(make_bzimage(BzOptions()), "bzImage");
    PcBootConfig cfg = { k.c_str(), nullptr, "console=ttyS0 quiet" };
    boot_ok(&t.m, cfg);

    const X86VcpuState &s = t.bsp();
    EXPECT_EQ(s.rip, 0x1000000u + 0x200);
    EXPECT_EQ(s.gpr[X86_RSI], kZeroPage);
    EXPECT_EQ(s.cs.selector, 0x10);
    EXPECT_TRUE(s.cs.l);
    EXPECT_FALSE(s.cs.db);
    EXPECT_EQ(s.ds.selector, 0x18);
    EXPECT_EQ(s.ss.selector, 0x18);
    EXPECT_EQ(s.es.limit, 0xffffffffu);
    EXPECT_EQ(s.rflags & 0x200, 0u) << "interrupts must be off";
    EXPECT_TRUE(s.cr0 & X86_CR0_PE);
    EXPECT_TRUE(s.cr0 & X86_CR0_PG);
    EXPECT_TRUE(s.cr4 & X86_CR4_PAE);
    EXPECT_EQ(s.efer & (X86_EFER_LME | X86_EFER_LMA), X86_EFER_LME | X86_EFER_LMA);
    // The GDT in memory agrees with the loaded segments: selector 0x10 is a long-mode code segment.
    uint64_t code = t.r64(s.gdt.base + 0x10), data = t.r64(s.gdt.base + 0x18);
    EXPECT_TRUE(code & (1ull << 53)) << "L bit";
    EXPECT_EQ((code >> 40) & 0x9a, 0x9au) << "present code, readable";
    EXPECT_EQ((data >> 40) & 0x92, 0x92u) << "present data, writable";
    EXPECT_GE(s.gdt.limit, 0x1f);
    // Identity mapping over the first 4 GiB.
    for (uint64_t va : { 0x0ull, 0x7000ull, 0x1000200ull, 0x3ffffffull, 0xfee00000ull, 0xffffffffull }) {
        EXPECT_EQ(translate(t, va), va);
    }
    // The protected-mode kernel sits at pref_address.
    for (uint64_t i = 0; i < kPayloadLen; i += 997) {
        EXPECT_EQ(t.r8(0x1000000 + i), (uint8_t)(i * 7 + 3));
    }
}

TEST(BootLinux, ZeroPage)
{
    TestMachine t(64);
    TempFile k(make_bzimage(BzOptions()), "bzImage");
    PcBootConfig cfg = { k.c_str(), nullptr, "console=ttyS0 root=/dev/vda" };
    boot_ok(&t.m, cfg);

    EXPECT_EQ(memcmp(t.at(kZeroPage + 0x202, 4), "HdrS", 4), 0) << "setup header copied";
    EXPECT_EQ(t.r16(kZeroPage + 0x206), 0x20f);
    EXPECT_EQ(t.r8(kZeroPage + 0x210), 0xff) << "type_of_loader";
    EXPECT_EQ(t.r8(kZeroPage + 0x1ef), 0) << "sentinel";
    EXPECT_EQ(t.str(t.r32(kZeroPage + 0x228)), "console=ttyS0 root=/dev/vda");
    EXPECT_EQ(t.r32(kZeroPage + 0x218), 0u) << "no initrd";
    EXPECT_EQ(t.r64(kZeroPage + 0x70), PC_ACPI_RSDP_ADDR);
    EXPECT_EQ(memcmp(t.at(PC_ACPI_RSDP_ADDR, 8), "RSD PTR ", 8), 0);

    // e820: low RAM up to the EBDA, the BIOS area reserved, RAM from 1 MiB to the end.
    ASSERT_EQ(t.r8(kZeroPage + 0x1e8), 3);
    struct { uint64_t addr, size; uint32_t type; } want[] = {
        { 0, 0x9fc00, 1 }, { 0x9fc00, 0x100000 - 0x9fc00, 2 }, { 0x100000, (64 << 20) - 0x100000, 1 } };
    for (int i = 0; i < 3; i++) {
        uint64_t e = kZeroPage + 0x2d0 + 20 * i;
        EXPECT_EQ(t.r64(e), want[i].addr) << i;
        EXPECT_EQ(t.r64(e + 8), want[i].size) << i;
        EXPECT_EQ(t.r32(e + 16), want[i].type) << i;
    }
    EXPECT_GE(PC_ACPI_RSDP_ADDR, want[1].addr) << "the ACPI tables lie in reserved memory";
    // The BIOS data area fields Linux reads to keep away from the EBDA.
    EXPECT_EQ(t.r16(0x40e), 0x9fc0) << "EBDA segment";
    EXPECT_EQ(t.r16(0x413), 639) << "base memory KiB";
}

TEST(BootLinux, HighRamInE820)
{
    TestMachine t(64);
    t.m.ram_low = 48 << 20;     // pretend the last 16 MiB sit above 4 GiB
    t.m.ram_high = 16 << 20;
    TempFile k(make_bzimage(BzOptions()), "bzImage");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    boot_ok(&t.m, cfg);
    ASSERT_EQ(t.r8(kZeroPage + 0x1e8), 4);
    uint64_t e = kZeroPage + 0x2d0 + 20 * 3;
    EXPECT_EQ(t.r64(e), 0x100000000ull);
    EXPECT_EQ(t.r64(e + 8), 16ull << 20);
    EXPECT_EQ(t.r32(e + 16), 1u);
    EXPECT_EQ(t.r64(kZeroPage + 0x2d0 + 20 * 2 + 8), (48ull << 20) - 0x100000);
    EXPECT_EQ(t.str(t.r32(kZeroPage + 0x228)), "") << "an empty command line";
}

TEST(BootLinux, Entry32WithoutXlfKernel64)
{
    TestMachine t(64);
    BzOptions o;
    o.xloadflags = 0;
    TempFile k(make_bzimage(o), "bzImage");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    boot_ok(&t.m, cfg);
    const X86VcpuState &s = t.bsp();
    EXPECT_EQ(s.rip, 0x1000000u);
    EXPECT_EQ(s.gpr[X86_RSI], kZeroPage);
    EXPECT_EQ(s.gpr[X86_RBX] | s.gpr[X86_RBP] | s.gpr[X86_RDI], 0u);
    EXPECT_EQ(s.cs.selector, 0x10);
    EXPECT_TRUE(s.cs.db);
    EXPECT_FALSE(s.cs.l);
    EXPECT_EQ(s.cs.limit, 0xffffffffu);
    EXPECT_TRUE(s.cr0 & X86_CR0_PE);
    EXPECT_FALSE(s.cr0 & X86_CR0_PG);
    EXPECT_EQ(s.efer, 0u);
}

TEST(BootLinux, NonRelocatableLoadsAtCode32Start)
{
    TestMachine t(64);
    std::vector<uint8_t> img = make_bzimage(BzOptions());
    img[0x234] = 0;     // not relocatable: code32_start (1 MiB) is the place
    TempFile k(img, "bzImage");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    boot_ok(&t.m, cfg);
    EXPECT_EQ(t.bsp().rip, 0x100000u + 0x200);
    EXPECT_EQ(t.r8(0x100000 + 5), (uint8_t)(5 * 7 + 3));
}

TEST(BootLinux, InitrdGoesHighPageAligned)
{
    TestMachine t(64);
    TempFile k(make_bzimage(BzOptions()), "bzImage");
    std::vector<uint8_t> rd(10000);
    for (size_t i = 0; i < rd.size(); i++) {
        rd[i] = (uint8_t)(i ^ (i >> 8));
    }
    TempFile initrd(rd, "initrd");
    PcBootConfig cfg = { k.c_str(), initrd.c_str(), nullptr };
    boot_ok(&t.m, cfg);
    uint32_t addr = t.r32(kZeroPage + 0x218), size = t.r32(kZeroPage + 0x21c);
    EXPECT_EQ(size, rd.size());
    EXPECT_EQ(addr % 4096, 0u);
    EXPECT_EQ(addr, ((64u << 20) - 10000) & ~0xfffu) << "as high as RAM allows";
    EXPECT_EQ(memcmp(t.at(addr, size), rd.data(), size), 0);
}

TEST(BootLinux, InitrdBelowInitrdAddrMax)
{
    TestMachine t(64);
    BzOptions o;
    o.initrd_addr_max = 0x1ffffff;      // the last byte an initrd may use: 32 MiB - 1
    TempFile k(make_bzimage(o), "bzImage");
    TempFile initrd(std::vector<uint8_t>(5000, 0x5a), "initrd");
    PcBootConfig cfg = { k.c_str(), initrd.c_str(), nullptr };
    boot_ok(&t.m, cfg);
    uint32_t addr = t.r32(kZeroPage + 0x218);
    EXPECT_EQ(addr, (0x2000000u - 5000) & ~0xfffu);
    EXPECT_LE(addr + 5000u, 0x2000000u);
    EXPECT_GE(addr, 0x1000000u + 0x800000u) << "above the kernel's init_size";
}

TEST(BootLinux, InitrdTooBig)
{
    TestMachine t(64);
    TempFile k(make_bzimage(BzOptions()), "bzImage");
    TempFile initrd(41ull << 20, "big-initrd");   // 64 - 24 MiB for the kernel leaves 40
    PcBootConfig cfg = { k.c_str(), initrd.c_str(), nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("initrd does not fit"), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind(initrd.path, 0), 0u) << "names the initrd first: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);

    TempFile fits(40ull << 20, "fitting-initrd");
    PcBootConfig ok = { k.c_str(), fits.c_str(), nullptr };
    boot_ok(&t.m, ok);
}

TEST(BootLinux, TooOld)
{
    TestMachine t(64);
    BzOptions o;
    o.version = 0x205;
    TempFile k(make_bzimage(o), "old-bzImage");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("kernel too old"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2.05"), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind(k.path, 0), 0u) << msg;
}

TEST(BootLinux, ZImageRefused)
{
    TestMachine t(64);
    BzOptions o;
    o.loadflags = 0;
    TempFile k(make_bzimage(o), "zImage");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("not a bzImage"), std::string::npos) << msg;
}

TEST(BootLinux, KernelBeyondRam)
{
    TestMachine t(32);
    TempFile k(make_bzimage(BzOptions()), "bzImage");   // needs 16 + 8 MiB: fits in 32
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    boot_ok(&t.m, cfg);
    BzOptions o;
    o.init_size = 0x1000001;                             // 16 + 16 MiB + 1 byte: does not
    TempFile big(make_bzimage(o), "bzImage");
    cfg.kernel = big.c_str();
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("needs RAM"), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind(big.path, 0), 0u) << msg;
}

TEST(BootLinux, CommandLineTooLong)
{
    TestMachine t(64);
    BzOptions o;
    o.cmdline_size = 16;
    TempFile k(make_bzimage(o), "bzImage");
    PcBootConfig cfg = { k.c_str(), nullptr, "0123456789abcdef" };   // 16: allowed
    boot_ok(&t.m, cfg);
    cfg.append = "0123456789abcdefg";
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_NE(msg.find("command line too long"), std::string::npos) << msg;
}

TEST(BootBadInput, MissingKernel)
{
    TestMachine t(64);
    PcBootConfig cfg = { "/nonexistent/ember/vmlinuz", nullptr, nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_EQ(msg, "/nonexistent/ember/vmlinuz: No such file or directory");
}

TEST(BootBadInput, MissingInitrd)
{
    TestMachine t(64);
    TempFile k(make_bzimage(BzOptions()), "bzImage");
    PcBootConfig cfg = { k.c_str(), "/nonexistent/initrd", nullptr };
    std::string msg = boot_error(&t.m, cfg);
    EXPECT_EQ(msg, "/nonexistent/initrd: No such file or directory");
}

TEST(BootBadInput, GarbageFile)
{
    TestMachine t(64);
    std::vector<uint8_t> junk(20000);
    uint32_t x = 12345;
    for (auto &b : junk) {
        x = x * 1103515245 + 12345;
        b = (uint8_t)(x >> 16);
    }
    TempFile k(junk, "garbage");
    PcBootConfig cfg = { k.c_str(), nullptr, nullptr };
    EXPECT_EQ(boot_error(&t.m, cfg), k.path + ": not a bzImage or multiboot kernel");
    TempFile empty(std::vector<uint8_t>(), "empty");
    cfg.kernel = empty.c_str();
    EXPECT_EQ(boot_error(&t.m, cfg), empty.path + ": not a bzImage or multiboot kernel");
}

TEST(BootBadInput, Directory)
{
    TestMachine t(64);
    PcBootConfig cfg = { "/", nullptr, nullptr };
    EXPECT_EQ(boot_error(&t.m, cfg), "/: not a regular file");
}

// The Debian kernel default-guest.sh fetches, when the cache has it.
TEST(BootLinux, DebianKernelFromCache)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    std::string dir = xdg && *xdg ? std::string(xdg) : std::string(home ? home : "/nonexistent") + "/.cache";
    std::string kernel = dir + "/ember/guest/vmlinuz", initrd = dir + "/ember/guest/initramfs.cpio.gz";
    if (access(kernel.c_str(), R_OK) != 0) {
        GTEST_SKIP() << kernel << " is absent: run system/pc/boot/default-guest.sh to test the real kernel";
    }
    bool have_initrd = access(initrd.c_str(), R_OK) == 0;
    gchar *image;
    gsize len;
    ASSERT_TRUE(g_file_get_contents(kernel.c_str(), &image, &len, nullptr));
    const uint8_t *img = reinterpret_cast<const uint8_t *>(image);

    TestMachine t(256);
    PcBootConfig cfg = { kernel.c_str(), have_initrd ? initrd.c_str() : nullptr, "console=ttyS0" };
    boot_ok(&t.m, cfg);
    const X86VcpuState &s = t.bsp();
    uint64_t pref = 0;
    memcpy(&pref, img + 0x258, 8);
    EXPECT_EQ(s.rip, pref + 0x200) << "Debian's kernel has the 64-bit entry";
    EXPECT_TRUE(s.efer & X86_EFER_LMA);
    size_t setup = ((size_t)(img[0x1f1] ? img[0x1f1] : 4) + 1) * 512;
    EXPECT_EQ(memcmp(t.at(pref, len - setup), img + setup, len - setup), 0) << "the protected-mode kernel";
    // The header is the kernel's except where the loader writes (type_of_loader .. cmd_line_ptr).
    EXPECT_EQ(memcmp(t.at(kZeroPage + 0x1f1, 0x210 - 0x1f1), img + 0x1f1, 0x210 - 0x1f1), 0);
    EXPECT_EQ(memcmp(t.at(kZeroPage + 0x22c, 0x26c - 0x22c), img + 0x22c, 0x26c - 0x22c), 0);
    EXPECT_EQ(t.r8(kZeroPage + 0x210), 0xff);
    if (have_initrd) {
        uint32_t addr = t.r32(kZeroPage + 0x218), size = t.r32(kZeroPage + 0x21c);
        uint32_t init_size;
        memcpy(&init_size, img + 0x260, 4);
        EXPECT_GT(size, 0u);
        EXPECT_GE(addr, pref + init_size);
        EXPECT_LE((uint64_t)addr + size, 256ull << 20);
        EXPECT_EQ(t.r8(addr), 0x1f) << "gzip magic";
        EXPECT_EQ(t.r8(addr + 1), 0x8b);
    }
    g_free(image);
}

}  // namespace
