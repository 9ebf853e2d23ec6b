// The initial stack. One checker parses a stack and verifies every layout rule of Linux's execve; it is
// run on this test process's own initial stack (built by the real kernel: the oracle) and on ours.
#include <gtest/gtest.h>

#include <elf.h>
#include <errno.h>
#include <sys/auxv.h>

#include <map>
#include <string>
#include <vector>

#include "user/linux/tests/test-util.h"

extern "C" {
#include "user/linux/guest-mem.h"
#include "user/linux/stack.h"
extern void *__libc_stack_end;   // glibc: the initial rsp, pointing at argc
}

namespace {

struct ParsedStack {
    std::vector<std::string> argv, envp;
    std::vector<std::pair<uint64_t, uint64_t>> auxv;   // AT_NULL included
    std::map<uint64_t, uint64_t> aux;
};

const char *Str(uint64_t addr) { return (const char *)(uintptr_t)addr; }

// Parse the stack at sp and check the kernel's rules: pointers, contiguous strings in argv-env-execfn
// order ending 8 bytes below `top`, the platform string just below the 16-aligned start of the strings,
// AT_RANDOM just below that, and the tables as close below as 16-byte alignment of sp allows.
// With address randomisation the kernel also leaves a random gap of up to 8 KiB below the strings
// (arch_align_stack); ember does not randomise, so for it the gap must be exactly the alignment (exact).
void ParseAndCheck(uint64_t sp, uint64_t top, ParsedStack *out, bool exact = true)
{
    ASSERT_EQ(sp % 16, 0u) << "rsp at entry is 16-byte aligned";
    const uint64_t *w = (const uint64_t *)(uintptr_t)sp;
    uint64_t argc = *w++;
    std::vector<uint64_t> argv_p, envp_p;
    for (uint64_t i = 0; i < argc; i++)
        argv_p.push_back(*w++);
    ASSERT_EQ(*w++, 0u) << "argv is NULL-terminated";
    while (*w)
        envp_p.push_back(*w++);
    w++;
    for (;;) {
        uint64_t key = *w++, val = *w++;
        out->auxv.push_back({key, val});
        out->aux[key] = val;
        if (key == AT_NULL)
            break;
    }
    uint64_t tables_end = (uintptr_t)w;
    ASSERT_GT(argc, 0u);

    // The strings: argv, then envp, then AT_EXECFN, back to back.
    uint64_t at = argv_p[0];
    for (uint64_t p : argv_p) {
        ASSERT_EQ(p, at) << "argv strings are contiguous";
        out->argv.push_back(Str(p));
        at += strlen(Str(p)) + 1;
    }
    for (uint64_t p : envp_p) {
        ASSERT_EQ(p, at) << "envp strings follow argv's";
        out->envp.push_back(Str(p));
        at += strlen(Str(p)) + 1;
    }
    ASSERT_TRUE(out->aux.count(AT_EXECFN));
    ASSERT_EQ(out->aux[AT_EXECFN], at) << "AT_EXECFN follows the environment";
    at += strlen(Str(at)) + 1;
    EXPECT_EQ(at + 8, top) << "one NULL word at the very top";

    // Below the strings: "x86_64" at the 16-aligned boundary, the 16 random bytes, then the tables.
    ASSERT_TRUE(out->aux.count(AT_PLATFORM));
    uint64_t platform = out->aux[AT_PLATFORM];
    EXPECT_STREQ(Str(platform), "x86_64");
    EXPECT_EQ((platform + 7) % 16, 0u);
    if (exact) {
        EXPECT_EQ(platform, (argv_p[0] & ~15ULL) - 7);
    } else {
        EXPECT_LE(platform + 7, argv_p[0] & ~15ULL);
        EXPECT_LT((argv_p[0] & ~15ULL) - (platform + 7), 8192u);
    }
    ASSERT_TRUE(out->aux.count(AT_RANDOM));
    EXPECT_EQ(out->aux[AT_RANDOM], platform - 16);
    EXPECT_LE(tables_end, out->aux[AT_RANDOM]);
    EXPECT_GT(tables_end + 16, out->aux[AT_RANDOM]) << "no more padding than the alignment needs";
}

// The end of the mapping that holds addr, from the host's /proc/self/maps.
uint64_t HostMappingEnd(uint64_t addr)
{
    FILE *f = fopen("/proc/self/maps", "r");
    unsigned long long s, e, found = 0;
    char line[512];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s <= addr && addr < e)
            found = e;
    if (f)
        fclose(f);
    return found;
}

TEST(StackTest, TheKernelsOwnStackPassesTheChecker)
{
    ParsedStack native;
    uint64_t sp = (uintptr_t)__libc_stack_end;
    ParseAndCheck(sp, HostMappingEnd(sp), &native, false);
    EXPECT_EQ(native.aux[AT_PAGESZ], 4096u);
    EXPECT_EQ(native.aux[AT_PHDR], getauxval(AT_PHDR));
}

class GuestStackTest : public ::testing::Test {
protected:
    void TearDown() override { ember_test::DropGuestMappings(); }

    LinuxElfImage FakeImage()
    {
        LinuxElfImage img = {};
        img.entry = 0x7000001000;
        img.prog_entry = 0x401000;
        img.phdr = 0x400040;
        img.phnum = 9;
        img.phent = 56;
        img.interp_base = 0x7000000000;
        strcpy(img.exe_path, "/usr/bin/example");
        return img;
    }
};

TEST_F(GuestStackTest, LayoutMatchesTheKernels)
{
    LinuxElfImage img = FakeImage();
    char *argv[] = {(char *)"prog", (char *)"", (char *)"second arg", nullptr};
    char *envp[] = {(char *)"A=1", (char *)"PATH=/bin:/usr/bin", (char *)"EMPTY=", nullptr};
    LinuxStackParams params = {};
    params.argv = argv;
    params.envp = envp;
    params.execfn = "./prog";
    params.hwcap = 0x178bfbff;
    params.hwcap2 = 2;
    LinuxStack st;
    ASSERT_EQ(linux_stack_build(&img, &params, &st), 0);
    EXPECT_EQ(st.top - st.base, LINUX_STACK_DEFAULT_SIZE);

    ParsedStack ours;
    ParseAndCheck(st.sp, st.top, &ours);
    EXPECT_EQ(ours.argv, (std::vector<std::string>{"prog", "", "second arg"}));
    EXPECT_EQ(ours.envp, (std::vector<std::string>{"A=1", "PATH=/bin:/usr/bin", "EMPTY="}));
    EXPECT_STREQ(Str(ours.aux[AT_EXECFN]), "./prog");
    EXPECT_EQ(ours.aux[AT_PHDR], 0x400040u);
    EXPECT_EQ(ours.aux[AT_PHENT], 56u);
    EXPECT_EQ(ours.aux[AT_PHNUM], 9u);
    EXPECT_EQ(ours.aux[AT_ENTRY], 0x401000u);
    EXPECT_EQ(ours.aux[AT_BASE], 0x7000000000u);
    EXPECT_EQ(ours.aux[AT_PAGESZ], 4096u);
    EXPECT_EQ(ours.aux[AT_HWCAP], 0x178bfbffu);
    EXPECT_EQ(ours.aux[AT_HWCAP2], 2u);
    EXPECT_EQ(ours.aux[AT_FLAGS], 0u);
    EXPECT_EQ(ours.aux[AT_SECURE], 0u);
    EXPECT_EQ(ours.aux[AT_UID], getuid());
    EXPECT_EQ(ours.aux[AT_EGID], getegid());
    EXPECT_EQ(ours.aux[AT_CLKTCK], (uint64_t)sysconf(_SC_CLK_TCK));
    EXPECT_EQ(ours.aux[AT_SYSINFO_EHDR], getauxval(AT_SYSINFO_EHDR)) << "the host's vDSO, as it is";
    EXPECT_GE(ours.aux[AT_RANDOM], st.base);
    EXPECT_LT(ours.aux[AT_RANDOM], st.top);
    EXPECT_EQ(st.random, ours.aux[AT_RANDOM]);
    EXPECT_EQ(st.arg_start, *(const uint64_t *)(uintptr_t)(st.sp + 8)) << "argv[0]";
    EXPECT_EQ(st.env_start - st.arg_start, strlen("prog") + 1 + 1 + strlen("second arg") + 1);

    // The keys come in the kernel's order (the ones we write; the kernel may add vDSO and rseq ones).
    ParsedStack native;
    uint64_t sp = (uintptr_t)__libc_stack_end;
    ParseAndCheck(sp, HostMappingEnd(sp), &native, false);
    std::vector<uint64_t> our_keys, native_keys;
    for (auto &kv : ours.auxv)
        our_keys.push_back(kv.first);
    for (auto &kv : native.auxv)
        if (ours.aux.count(kv.first))
            native_keys.push_back(kv.first);
    EXPECT_EQ(our_keys, native_keys);

    // The saved copy (for /proc/self/auxv) is the vector, AT_NULL included.
    size_t bytes = 0;
    const uint64_t *saved = linux_stack_auxv(&bytes);
    ASSERT_NE(saved, nullptr);
    ASSERT_EQ(bytes, ours.auxv.size() * 16);
    EXPECT_EQ(memcmp(saved, (const void *)(uintptr_t)st.auxv, bytes), 0);

    // The record: [stack], read-write; the guard below is not the guest's.
    GuestRegionInfo info;
    uint64_t start, end;
    ASSERT_TRUE(guest_mem_lookup(st.sp, &start, &end, &info, nullptr, 0));
    EXPECT_EQ(info.kind, GUEST_REGION_STACK);
    EXPECT_EQ(info.prot, PROT_READ | PROT_WRITE);
    EXPECT_EQ(start, st.base);
    EXPECT_EQ(end, st.top);
    EXPECT_EQ(guest_mem_prot_at(st.base - 1), -1);
}

TEST_F(GuestStackTest, RandomBytesDiffer)
{
    LinuxElfImage img = FakeImage();
    char *argv[] = {(char *)"a", nullptr};
    char *envp[] = {nullptr};
    LinuxStackParams params = {};
    params.argv = argv;
    params.envp = envp;
    LinuxStack a, b;
    ASSERT_EQ(linux_stack_build(&img, &params, &a), 0);
    ASSERT_EQ(linux_stack_build(&img, &params, &b), 0);
    EXPECT_NE(memcmp((const void *)(uintptr_t)a.random, (const void *)(uintptr_t)b.random, 16), 0);
    // Without execfn, AT_EXECFN is the program's path as given to the loader, else its resolved path.
    ParsedStack ours;
    ParseAndCheck(b.sp, b.top, &ours);
    EXPECT_STREQ(Str(ours.aux[AT_EXECFN]), "/usr/bin/example");
    EXPECT_TRUE(ours.envp.empty());
    strcpy(img.exec_name, "./example");
    ASSERT_EQ(linux_stack_build(&img, &params, &b), 0);
    ParsedStack named;
    ParseAndCheck(b.sp, b.top, &named);
    EXPECT_STREQ(Str(named.aux[AT_EXECFN]), "./example");
}

TEST_F(GuestStackTest, SizeAndTooBigArguments)
{
    LinuxElfImage img = FakeImage();
    std::string huge(100000, 'x');
    char *argv[] = {(char *)"a", nullptr};
    char *envp[] = {(char *)huge.c_str(), nullptr};
    uint64_t sp = 0;
    char err[256];
    EXPECT_EQ(linux_stack_setup(&img, argv, envp, 256 * 1024, 0, &sp, err, sizeof(err)), -E2BIG);
    EXPECT_NE(std::string(err).find("too large"), std::string::npos) << err;
    ASSERT_EQ(linux_stack_setup(&img, argv, envp, 1 << 20, 0x1234, &sp, err, sizeof(err)), 0) << err;
    const LinuxStack *st = linux_stack_current();
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->sp, sp);
    EXPECT_EQ(st->top - st->base, 1u << 20);
    ParsedStack ours;
    ParseAndCheck(sp, st->top, &ours);
    EXPECT_EQ(ours.envp[0], huge);
    EXPECT_EQ(ours.aux[AT_HWCAP], 0x1234u);
}

}  // namespace
