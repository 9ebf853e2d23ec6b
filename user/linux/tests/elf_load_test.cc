// The ELF loader: every kind of unfit file gets its own error, and fit ones are mapped exactly where and as
// their program headers say (checked byte by byte against the file).
#include <gtest/gtest.h>

#include <errno.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <string>

#include "user/linux/tests/test-util.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

extern "C" {
#include "user/linux/elf-load.h"
#include "user/linux/guest-mem.h"
}

using ember_test::MiniElf;

namespace {

class ElfLoadTest : public ::testing::Test {
protected:
    void SetUp() override { dir_ = ember_test::TempDir(); }
    void TearDown() override { ember_test::DropGuestMappings(); }

    int Load(const std::string &path, const char *sysroot = nullptr)
    {
        err_[0] = '\0';
        return linux_elf_load(path.c_str(), sysroot, &img_, err_, sizeof(err_));
    }
    std::string Err() const { return err_; }

    std::string dir_;
    LinuxElfImage img_;
    char err_[1024];
};

// A two-segment ET_EXEC at 0x10000000: text with the headers, then data whose .bss starts mid-page.
MiniElf TwoSegments()
{
    MiniElf e;
    e.entry = 0x10000100;
    e.file_size = 0x2b00;
    e.AddLoad(0, 0x10000000, 0x2800, 0x2800, PF_R | PF_X);
    e.AddLoad(0x2800, 0x10004800, 0x300, 0x5000, PF_R | PF_W);
    return e;
}

TEST_F(ElfLoadTest, MissingFile)
{
    std::string path = dir_ + "/nothing-here";
    EXPECT_EQ(Load(path), -ENOENT);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": No such file or directory");
}

TEST_F(ElfLoadTest, Directory)
{
    EXPECT_EQ(Load(dir_), -EISDIR);
    EXPECT_EQ(Err(), "ember-x86_64: " + dir_ + ": is a directory");
}

TEST_F(ElfLoadTest, NotExecutable)
{
    std::string path = ember_test::WriteFile(dir_ + "/noexec", TwoSegments().Bytes(), 0644);
    EXPECT_EQ(Load(path), -EACCES);
    EXPECT_NE(Err().find(path + ": permission denied (not executable)"), std::string::npos) << Err();
}

TEST_F(ElfLoadTest, NotElf)
{
    std::string text = "#!/bin/sh\necho hello\n";
    std::string path = ember_test::WriteFile(dir_ + "/script", std::vector<uint8_t>(text.begin(), text.end()));
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": not an ELF file");
    // Shorter than the identification bytes: still "not an ELF file".
    path = ember_test::WriteFile(dir_ + "/tiny", {0x7f, 'E', 'L'});
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": not an ELF file");
}

TEST_F(ElfLoadTest, TruncatedHeader)
{
    auto bytes = TwoSegments().Bytes();
    bytes.resize(40);
    std::string path = ember_test::WriteFile(dir_ + "/trunc-ehdr", bytes);
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": truncated ELF header");
}

TEST_F(ElfLoadTest, TruncatedProgramHeaders)
{
    auto bytes = TwoSegments().Bytes();
    bytes.resize(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 10);   // the second header is cut
    std::string path = ember_test::WriteFile(dir_ + "/trunc-phdr", bytes);
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": truncated program headers");
}

TEST_F(ElfLoadTest, WrongMachine)
{
    MiniElf e = TwoSegments();
    e.machine = EM_AARCH64;
    std::string path = ember_test::WriteFile(dir_ + "/arm64", e.Bytes());
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": ELF for machine AArch64, not x86-64");
    e.machine = 0x1234;
    path = ember_test::WriteFile(dir_ + "/odd", e.Bytes());
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": ELF for machine 4660, not x86-64");
}

TEST_F(ElfLoadTest, WrongClassAndEndianness)
{
    auto bytes = TwoSegments().Bytes();
    bytes[EI_CLASS] = ELFCLASS32;
    std::string path = ember_test::WriteFile(dir_ + "/elf32", bytes);
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_NE(Err().find("32-bit ELF"), std::string::npos) << Err();
    bytes = TwoSegments().Bytes();
    bytes[EI_DATA] = ELFDATA2MSB;
    path = ember_test::WriteFile(dir_ + "/be", bytes);
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_NE(Err().find("big-endian"), std::string::npos) << Err();
}

TEST_F(ElfLoadTest, NotAnExecutableType)
{
    MiniElf e = TwoSegments();
    e.type = ET_REL;
    std::string path = ember_test::WriteFile(dir_ + "/obj.o", e.Bytes());
    EXPECT_EQ(Load(path), -ENOEXEC);
    EXPECT_NE(Err().find("relocatable object"), std::string::npos) << Err();
}

TEST_F(ElfLoadTest, BadSegments)
{
    struct Case {
        const char *name;
        void (*mutate)(MiniElf &);
        const char *message;
    } cases[] = {
        {"filesz-gt-memsz", [](MiniElf &e) { e.phdrs[1].p_filesz = 0x6000; },
         "segment 1: file size larger than memory size"},
        {"past-eof", [](MiniElf &e) { e.phdrs[1].p_filesz = 0x1000; },
         "segment 1: extends past the end of the file (truncated?)"},
        {"overlap", [](MiniElf &e) { e.phdrs[1].p_vaddr = 0x10002000; },
         "segments 0 and 1 overlap or are out of order"},
        {"out-of-range", [](MiniElf &e) { e.phdrs[1].p_vaddr = 0x7ffffffff800ULL; },
         "segment 1: address 0x7ffffffff800 out of range"},
        {"align", [](MiniElf &e) { e.phdrs[1].p_align = 0x3000; },
         "segment 1: alignment 0x3000 is not a power of 2"},
        {"no-load", [](MiniElf &e) { e.phdrs[0].p_type = e.phdrs[1].p_type = PT_NOTE; }, "no loadable segments"},
    };
    for (const Case &c : cases) {
        MiniElf e = TwoSegments();
        c.mutate(e);
        std::string path = ember_test::WriteFile(dir_ + "/" + c.name, e.Bytes());
        EXPECT_EQ(Load(path), -ENOEXEC) << c.name;
        EXPECT_EQ(Err(), "ember-x86_64: " + path + ": " + c.message) << c.name;
        EXPECT_FALSE(ember_test::AnyMapped(0x10000000, 0x10000)) << c.name << ": nothing stays mapped";
    }
}

TEST_F(ElfLoadTest, MapsSegmentsAsThePhdrsSay)
{
    MiniElf e = TwoSegments();
    std::string path = ember_test::WriteFile(dir_ + "/two", e.Bytes());
    ASSERT_EQ(Load(path), 0) << Err();
    EXPECT_EQ(img_.entry, 0x10000100u);
    EXPECT_EQ(img_.prog_entry, 0x10000100u);
    EXPECT_EQ(img_.load_bias, 0u);
    EXPECT_EQ(img_.phdr, 0x10000040u);   // inside the first PT_LOAD
    EXPECT_EQ(img_.phnum, 2u);
    EXPECT_EQ(img_.phent, sizeof(Elf64_Phdr));
    EXPECT_EQ(img_.interp_base, 0u);
    EXPECT_EQ(img_.brk_start, 0x1000a000u);
    char real[PATH_MAX];
    ASSERT_TRUE(realpath(path.c_str(), real));
    EXPECT_STREQ(img_.exe_path, real);
    EXPECT_EQ(std::string(img_.exec_name), path);
    char comm[17] = {};
    prctl(PR_GET_NAME, comm, 0, 0, 0);
    EXPECT_STREQ(comm, "two");

    auto file = e.Bytes();
    const uint8_t *text = (const uint8_t *)(uintptr_t)0x10000000;
    EXPECT_EQ(memcmp(text, file.data(), 0x2800), 0);
    const uint8_t *data = (const uint8_t *)(uintptr_t)0x10004800;
    EXPECT_EQ(memcmp(data, file.data() + 0x2800, 0x300), 0);
    for (uint64_t a = 0x10004b00; a < 0x10009800; a++)
        ASSERT_EQ(*(const uint8_t *)(uintptr_t)a, 0) << std::hex << a << ": .bss must read as zeros";
    // The hole between the segments is given back.
    EXPECT_FALSE(ember_test::AnyMapped(0x10003000, 0x1000));

    // The record: file pages with their offsets, then the anonymous .bss pages.
    EXPECT_EQ(guest_mem_prot_at(0x10001000), PROT_READ | PROT_EXEC);
    EXPECT_EQ(guest_mem_prot_at(0x10004000), PROT_READ | PROT_WRITE);
    EXPECT_EQ(guest_mem_prot_at(0x10008000), PROT_READ | PROT_WRITE);
    EXPECT_EQ(guest_mem_prot_at(0x10003000), -1);
    char name[PATH_MAX];
    GuestRegionInfo info;
    uint64_t start, end;
    ASSERT_TRUE(guest_mem_lookup(0x10004900, &start, &end, &info, name, sizeof(name)));
    EXPECT_EQ(start, 0x10004000u);
    EXPECT_EQ(end, 0x10005000u);
    EXPECT_EQ(info.kind, GUEST_REGION_FILE);
    EXPECT_EQ(info.offset, 0x2000u);
    EXPECT_STREQ(name, real);
    ASSERT_TRUE(guest_mem_lookup(0x10006000, &start, &end, &info, nullptr, 0));
    EXPECT_EQ(info.kind, GUEST_REGION_ANON);
    EXPECT_EQ(start, 0x10005000u);
    EXPECT_EQ(end, 0x1000a000u);

    // Write protection is real: the text is not writable on the host.
    pid_t pid = fork();
    if (pid == 0) {
        *(volatile uint8_t *)(uintptr_t)0x10000000 = 1;
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

TEST_F(ElfLoadTest, MisalignedOffsetIsCopied)
{
    MiniElf e = TwoSegments();
    e.phdrs[1].p_offset = 0x2810;   // not congruent with 0x10004800 modulo the page
    e.phdrs[1].p_align = 0x10;
    e.file_size = 0x2c00;
    std::string path = ember_test::WriteFile(dir_ + "/misaligned", e.Bytes());
    ASSERT_EQ(Load(path), 0) << Err();
    auto file = e.Bytes();
    EXPECT_EQ(memcmp((const void *)(uintptr_t)0x10004800, file.data() + 0x2810, 0x300), 0);
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)0x10004b00, 0);
    EXPECT_EQ(guest_mem_prot_at(0x10004800), PROT_READ | PROT_WRITE);
}

TEST_F(ElfLoadTest, RefusesToLoadOverEmbersOwnMemory)
{
    // An ET_EXEC whose segment lands on this test's own code.
    uint64_t own = (uint64_t)(uintptr_t)&ember_test::TempDir & ~0xfffULL;
    MiniElf e;
    e.entry = own;
    e.AddLoad(0, own, 0x1000, 0x1000, PF_R | PF_X);
    std::string path = ember_test::WriteFile(dir_ + "/clash", e.Bytes());
    EXPECT_EQ(Load(path), -ENOMEM);
    EXPECT_NE(Err().find("overlap memory already in use"), std::string::npos) << Err();
    EXPECT_EQ(guest_mem_prot_at(own), -1);
}

TEST_F(ElfLoadTest, RefusesAddressesBelowMmapMinAddr)
{
    MiniElf e;
    e.entry = 0x1000;
    e.AddLoad(0, 0x1000, 0x1000, 0x1000, PF_R | PF_X);
    std::string path = ember_test::WriteFile(dir_ + "/low", e.Bytes());
    int r = Load(path);
    if (r == 0) {
        // A privileged process may map there (CAP_SYS_RAWIO): then it must be mapped right.
        EXPECT_EQ(memcmp((const void *)(uintptr_t)0x1000, e.Bytes().data(), 0x1000), 0);
    } else {
        EXPECT_EQ(r, -EPERM);
        EXPECT_NE(Err().find("vm.mmap_min_addr"), std::string::npos) << Err();
    }
}

TEST_F(ElfLoadTest, PieGoesToAFreeBase)
{
    MiniElf e;
    e.type = ET_DYN;
    e.entry = 0x1100;
    e.AddLoad(0, 0, 0x1800, 0x1800, PF_R | PF_X);
    e.AddLoad(0x2000, 0x3000, 0x100, 0x2000, PF_R | PF_W);
    std::string path = ember_test::WriteFile(dir_ + "/pie", e.Bytes());
    ASSERT_EQ(Load(path), 0) << Err();
    uint64_t first = img_.load_bias;
    EXPECT_TRUE(img_.is_pie);
    EXPECT_NE(first, 0u);
    EXPECT_EQ(first & 0xfff, 0u);
    EXPECT_EQ(img_.entry, first + 0x1100);
    EXPECT_EQ(img_.phdr, first + 0x40);
    EXPECT_EQ(img_.brk_start, first + 0x5000);
    EXPECT_EQ(memcmp((const void *)(uintptr_t)first, e.Bytes().data(), 0x1800), 0);
    // A second copy cannot go to the same place: it goes to another free base.
    LinuxElfImage second;
    ASSERT_EQ(linux_elf_load(path.c_str(), nullptr, &second, err_, sizeof(err_)), 0) << err_;
    EXPECT_NE(second.load_bias, first);
    EXPECT_EQ(memcmp((const void *)(uintptr_t)second.load_bias, e.Bytes().data(), 0x1800), 0);
}

TEST_F(ElfLoadTest, PieLeavesRoomForBrk)
{
    // Something of ember's a little after the preferred base: the heap could not grow there.
    void *wall = mmap((void *)(uintptr_t)(LINUX_ELF_PIE_BASE + 0x100000), 0x1000, PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (wall != (void *)(uintptr_t)(LINUX_ELF_PIE_BASE + 0x100000))
        GTEST_SKIP() << "the preferred base is not free in this process";
    MiniElf e;
    e.type = ET_DYN;
    e.AddLoad(0, 0, 0x1800, 0x1800, PF_R | PF_X);
    std::string path = ember_test::WriteFile(dir_ + "/pie", e.Bytes());
    ASSERT_EQ(Load(path), 0) << Err();
    EXPECT_NE(img_.load_bias, LINUX_ELF_PIE_BASE);
    EXPECT_EQ(img_.load_bias, LINUX_ELF_PIE_BASE_ALT);
    munmap(wall, 0x1000);
}

TEST_F(ElfLoadTest, InterpreterFromTheSysroot)
{
    MiniElf ld;
    ld.type = ET_DYN;
    ld.entry = 0x1234;
    ld.AddLoad(0, 0, 0x2000, 0x2000, PF_R | PF_X);
    std::string root = dir_ + "/root";
    mkdir(root.c_str(), 0755);
    mkdir((root + "/lib").c_str(), 0755);
    ember_test::WriteFile(root + "/lib/ember-test-ld.so", ld.Bytes());

    MiniElf prog = TwoSegments();
    prog.interp = "/lib/ember-test-ld.so";
    std::string path = ember_test::WriteFile(dir_ + "/dyn", prog.Bytes());

    // Not on the host: a clear error naming the interpreter.
    EXPECT_EQ(Load(path), -ENOENT);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": interpreter /lib/ember-test-ld.so: No such file or directory");
    EXPECT_FALSE(ember_test::AnyMapped(0x10000000, 0x10000));

    ASSERT_EQ(Load(path, root.c_str()), 0) << Err();
    EXPECT_EQ(std::string(img_.interp_path), root + "/lib/ember-test-ld.so");
    EXPECT_NE(img_.interp_base, 0u);
    EXPECT_EQ(img_.entry, img_.interp_base + 0x1234);
    EXPECT_EQ(img_.prog_entry, 0x10000100u);
    EXPECT_EQ(memcmp((const void *)(uintptr_t)img_.interp_base, ld.Bytes().data(), 0x2000), 0);

    // A broken interpreter is reported as the interpreter's problem.
    ember_test::WriteFile(root + "/lib/ember-test-ld.so", {'n', 'o', 'p', 'e', '\n'});
    ember_test::DropGuestMappings();
    EXPECT_EQ(Load(path, root.c_str()), -ENOEXEC);
    EXPECT_EQ(Err(), "ember-x86_64: " + path + ": interpreter " + root + "/lib/ember-test-ld.so: not an ELF file");
}

// A real static program: every PT_LOAD where its header says, with the file's bytes and a zeroed .bss.
void CheckRealBinary(const char *path, const LinuxElfImage &img)
{
    auto file = ember_test::ReadFile(path);
    ASSERT_GT(file.size(), sizeof(Elf64_Ehdr));
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file.data();
    EXPECT_EQ(img.prog_entry, eh->e_entry + img.load_bias);
    EXPECT_EQ(img.phnum, eh->e_phnum);
    EXPECT_EQ(memcmp((const void *)(uintptr_t)img.phdr, file.data() + eh->e_phoff, eh->e_phnum * sizeof(Elf64_Phdr)),
              0);
    uint64_t top = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)(file.data() + eh->e_phoff) + i;
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t at = ph->p_vaddr + img.load_bias;
        EXPECT_EQ(memcmp((const void *)(uintptr_t)at, file.data() + ph->p_offset, ph->p_filesz), 0) << "segment " << i;
        for (uint64_t b = ph->p_filesz; b < ph->p_memsz; b += 61)
            ASSERT_EQ(((const uint8_t *)(uintptr_t)at)[b], 0) << "segment " << i << " bss at " << b;
        int prot = (ph->p_flags & PF_R ? PROT_READ : 0) | (ph->p_flags & PF_W ? PROT_WRITE : 0) |
                   (ph->p_flags & PF_X ? PROT_EXEC : 0);
        EXPECT_EQ(guest_mem_prot_at(at), prot) << "segment " << i;
        top = std::max(top, at + ph->p_memsz);
    }
    EXPECT_EQ(img.brk_start, (top + 0xfff) & ~0xfffULL);
}

TEST_F(ElfLoadTest, BusyboxStatic)
{
    const char *path = "/usr/bin/busybox";
    if (access(path, X_OK) != 0)
        GTEST_SKIP() << "no " << path;
    ASSERT_EQ(Load(path), 0) << Err();
    EXPECT_FALSE(img_.is_pie);
    EXPECT_EQ(img_.interp_base, 0u);
    EXPECT_EQ(img_.entry, img_.prog_entry);
    EXPECT_EQ(img_.phdr, 0x400040u);
    EXPECT_NE(img_.tls_memsz, 0u);
    EXPECT_FALSE(img_.exec_stack);
    CheckRealBinary(path, img_);
}

TEST_F(ElfLoadTest, CompiledStaticPie)
{
    std::string src = dir_ + "/hello.c", exe = dir_ + "/hello";
    std::string code = "int v = 42; char big[100000]; int main(void) { return v + big[5]; }\n";
    ember_test::WriteFile(src, std::vector<uint8_t>(code.begin(), code.end()), 0644);
    std::string cmd = "cc -static-pie -O1 -o " + exe + " " + src + " 2>/dev/null";
    if (system(cmd.c_str()) != 0)
        GTEST_SKIP() << "no working cc -static-pie";
    ASSERT_EQ(Load(exe), 0) << Err();
    EXPECT_TRUE(img_.is_pie);
    EXPECT_EQ(img_.interp_base, 0u);
    CheckRealBinary(exe.c_str(), img_);
}

TEST_F(ElfLoadTest, DynamicProgramGetsTheHostInterpreter)
{
    const char *path = "/bin/true";
    ASSERT_EQ(Load(path), 0) << Err();
    EXPECT_STREQ(img_.interp_path, "/lib64/ld-linux-x86-64.so.2");
    EXPECT_NE(img_.interp_base, 0u);
    auto ld = ember_test::ReadFile(img_.interp_path);
    ASSERT_GT(ld.size(), sizeof(Elf64_Ehdr));
    EXPECT_EQ(img_.entry, img_.interp_base + ((const Elf64_Ehdr *)ld.data())->e_entry);
    EXPECT_EQ(memcmp((const void *)(uintptr_t)img_.interp_base, ld.data(), 64), 0);
    CheckRealBinary(path, img_);
    EXPECT_EQ(linux_elf_current()->interp_base, img_.interp_base);
}

}  // namespace
