// The guest address space: the region record (split, merge, /proc/self/maps lines identical to the
// kernel's), the memory syscalls fenced off ember's own memory, the emulated brk, and the write protection
// of pages that hold translated code.
#include <gtest/gtest.h>

#include <errno.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "user/linux/tests/test-util.h"

extern "C" {
#include "user/linux/guest-mem.h"
}

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace {

const uint64_t P = GUEST_PAGE_SIZE;

std::string Maps()
{
    size_t len = 0;
    char *text = guest_mem_format_maps(&len);
    std::string s(text, len);
    free(text);
    return s;
}

int Lines(const std::string &s)
{
    int n = 0;
    for (char c : s)
        n += c == '\n';
    return n;
}

// Does a write to addr kill a child process (with the default SIGSEGV action)?
bool WriteFaults(uint64_t addr)
{
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile uint8_t *)(uintptr_t)addr = 1;
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV;
}

// Memory that is ember's, not the guest's: mapped behind the record's back.
struct EmberMemory {
    uint8_t *p;
    size_t len;
    explicit EmberMemory(size_t pages) : len(pages * P)
    {
        p = (uint8_t *)mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(p, 0xab, len);
    }
    ~EmberMemory() { munmap(p, len); }
    uint64_t addr() const { return (uintptr_t)p; }
    bool Intact() const
    {
        for (size_t i = 0; i < len; i += 512)
            if (p[i] != 0xab)
                return false;
        return true;
    }
};

class GuestMemTest : public ::testing::Test {
protected:
    void SetUp() override { ember_test::DropGuestMappings(); }
    void TearDown() override { ember_test::DropGuestMappings(); }

    uint64_t MapAnon(uint64_t pages, int prot = PROT_READ | PROT_WRITE)
    {
        long r = guest_mem_mmap(0, pages * P, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT_GT(r, 0);
        return (uint64_t)r;
    }
};

TEST_F(GuestMemTest, RecordSplitsAndMergesLikeVmas)
{
    const uint64_t a = 0x200000000;
    GuestRegionInfo anon = {};
    anon.kind = GUEST_REGION_ANON;
    anon.prot = PROT_READ | PROT_WRITE;
    guest_mem_record(a, 4 * P, &anon);
    EXPECT_EQ(Lines(Maps()), 1);
    guest_mem_set_prot(a + P, P, PROT_READ);
    EXPECT_EQ(Lines(Maps()), 3);
    EXPECT_EQ(guest_mem_prot_at(a + P), PROT_READ);
    EXPECT_EQ(guest_mem_prot_at(a + 2 * P), PROT_READ | PROT_WRITE);
    guest_mem_set_prot(a + P, P, PROT_READ | PROT_WRITE);
    EXPECT_EQ(Lines(Maps()), 1) << "equal neighbours merge back";
    guest_mem_forget(a + 2 * P, P);
    EXPECT_EQ(Lines(Maps()), 2);
    EXPECT_TRUE(guest_mem_is_guest(a, 2 * P));
    EXPECT_FALSE(guest_mem_is_guest(a, 3 * P));
    EXPECT_TRUE(guest_mem_any_guest(a + P, 3 * P));
    EXPECT_FALSE(guest_mem_any_guest(a + 2 * P, P));
    // A recorded neighbour that continues the record merges; a file one does not merge with anon.
    guest_mem_record(a + 2 * P, P, &anon);
    EXPECT_EQ(Lines(Maps()), 1);
    GuestRegionInfo file = {};
    file.kind = GUEST_REGION_FILE;
    file.prot = PROT_READ;
    file.name = "/x";
    file.offset = 0x3000;
    guest_mem_record(a + 4 * P, P, &file);
    file.offset = 0x4000;
    guest_mem_record(a + 5 * P, P, &file);   // the next page of the same file: one VMA
    file.offset = 0x9000;
    guest_mem_record(a + 6 * P, P, &file);   // not contiguous in the file: a VMA of its own
    EXPECT_EQ(Lines(Maps()), 3) << Maps();
    guest_mem_forget(a, 7 * P);
    EXPECT_EQ(Maps(), "");

    // RELRO: private file memory that was writable keeps a VMA of its own after turning read-only.
    file.offset = 0;
    guest_mem_record(a, P, &file);
    file.offset = P;
    file.prot = PROT_READ | PROT_WRITE;
    guest_mem_record(a + P, 2 * P, &file);
    guest_mem_set_prot(a + P, P, PROT_READ);
    EXPECT_EQ(Lines(Maps()), 3) << Maps();
    guest_mem_set_prot(a + 2 * P, P, PROT_READ);
    EXPECT_EQ(Lines(Maps()), 2) << "the two once-writable parts merge again" << Maps();
}

TEST_F(GuestMemTest, WalkFindsGuestPiecesAndGaps)
{
    const uint64_t a = 0x300000000;
    GuestRegionInfo anon = {};
    anon.kind = GUEST_REGION_ANON;
    guest_mem_record(a + P, P, &anon);
    anon.prot = PROT_READ;
    guest_mem_record(a + 2 * P, P, &anon);   // adjacent but different: still one piece for walk
    guest_mem_record(a + 5 * P, P, &anon);
    std::vector<std::pair<uint64_t, uint64_t>> got;
    auto collect = [](uint64_t s, uint64_t e, void *o) {
        ((std::vector<std::pair<uint64_t, uint64_t>> *)o)->push_back({s, e});
    };
    guest_mem_walk(a, 8 * P, true, collect, &got);
    EXPECT_EQ(got, (std::vector<std::pair<uint64_t, uint64_t>>{{a + P, a + 3 * P}, {a + 5 * P, a + 6 * P}}));
    got.clear();
    guest_mem_walk(a, 8 * P, false, collect, &got);
    EXPECT_EQ(got, (std::vector<std::pair<uint64_t, uint64_t>>{
                       {a, a + P}, {a + 3 * P, a + 5 * P}, {a + 6 * P, a + 8 * P}}));
}

// Each line of the host's own /proc/self/maps, recorded and formatted by us, must come out identical.
TEST_F(GuestMemTest, MapsLinesAreTheKernels)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ASSERT_NE(f, nullptr);
    std::vector<std::string> host;
    char line[4096];
    while (fgets(line, sizeof(line), f))
        host.push_back(line);
    fclose(f);
    int checked = 0;
    for (const std::string &l : host) {
        unsigned long long s, e, off, ino;
        unsigned maj, min;
        char perms[5];
        int name_at = 0;
        if (sscanf(l.c_str(), "%llx-%llx %4s %llx %x:%x %llu%n", &s, &e, perms, &off, &maj, &min, &ino, &name_at) < 7)
            continue;
        size_t at = l.find_first_not_of(' ', name_at);
        std::string name = l.substr(at, l.size() - 1 - at);   // up to the newline
        if (name == "[vvar]" || name == "[vdso]" || name == "[vsyscall]" || name == "[vvar_vclock]" ||
            (name.size() && name[0] == '[' && name != "[heap]" && name != "[stack]"))
            continue;
        guest_mem_reset();
        GuestRegionInfo info = {};
        info.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
                    (perms[2] == 'x' ? PROT_EXEC : 0);
        info.shared = perms[3] == 's';
        info.kind = name.empty() ? GUEST_REGION_ANON
                    : name == "[heap]" ? GUEST_REGION_HEAP
                    : name == "[stack]" ? GUEST_REGION_STACK
                                        : GUEST_REGION_FILE;
        info.offset = off;
        info.dev = makedev(maj, min);
        info.ino = ino;
        info.name = name.c_str();
        guest_mem_record(s, e - s, &info);
        EXPECT_EQ(Maps(), l);
        checked++;
    }
    guest_mem_reset();
    EXPECT_GT(checked, 5);
}

TEST_F(GuestMemTest, MmapMunmapAreRecorded)
{
    uint64_t a = MapAnon(3);
    memset((void *)(uintptr_t)a, 1, 3 * P);
    EXPECT_TRUE(guest_mem_is_guest(a, 3 * P));
    EXPECT_EQ(guest_mem_munmap(a + P, P), 0);
    EXPECT_FALSE(ember_test::AnyMapped(a + P, P));
    EXPECT_TRUE(guest_mem_is_guest(a, P));
    EXPECT_FALSE(guest_mem_any_guest(a + P, P));
    EXPECT_TRUE(guest_mem_is_guest(a + 2 * P, P));
    EXPECT_EQ(guest_mem_munmap(a + 1, P), -EINVAL);
    EXPECT_EQ(guest_mem_munmap(a, 0), -EINVAL);
    EXPECT_EQ(guest_mem_mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -EINVAL);
}

TEST_F(GuestMemTest, FileMappingsShowTheFile)
{
    std::string path = ember_test::TempDir() + "/data";
    ember_test::WriteFile(path, std::vector<uint8_t>(3 * P, 7), 0644);
    int fd = open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    long r = guest_mem_mmap(0, 2 * P, PROT_READ, MAP_PRIVATE, fd, P);
    ASSERT_GT(r, 0);
    struct stat st;
    fstat(fd, &st);
    close(fd);
    char name[4096];
    GuestRegionInfo info;
    ASSERT_TRUE(guest_mem_lookup((uint64_t)r, nullptr, nullptr, &info, name, sizeof(name)));
    EXPECT_EQ(info.kind, GUEST_REGION_FILE);
    EXPECT_EQ(info.offset, P);
    EXPECT_EQ(info.ino, st.st_ino);
    EXPECT_EQ(std::string(name), path);
    char expect[512];
    snprintf(expect, sizeof(expect), "%08lx-%08lx r--p %08x %02x:%02x %lu", (unsigned long)r, (unsigned long)r + 2 * P,
             (unsigned)P, major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
    EXPECT_EQ(Maps().rfind(expect, 0), 0u) << Maps();
    EXPECT_NE(Maps().find(" " + path + "\n"), std::string::npos);
}

TEST_F(GuestMemTest, MapFixedNeverReplacesEmbersMemory)
{
    EmberMemory ember(4);
    const int fixed = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
    long r = guest_mem_mmap(ember.addr() + P, P, PROT_READ | PROT_WRITE, fixed, -1, 0);
    EXPECT_EQ(r, -ENOMEM);
    EXPECT_TRUE(ember.Intact());
    EXPECT_FALSE(guest_mem_any_guest(ember.addr(), ember.len));

    // Over the guest's own memory and the free space next to it: fine.
    uint64_t a = MapAnon(2);
    memset((void *)(uintptr_t)a, 5, 2 * P);
    guest_mem_munmap(a + P, P);
    r = guest_mem_mmap(a, 2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    ASSERT_EQ(r, (long)a);
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)a, 0) << "replaced by fresh memory";
    EXPECT_EQ(guest_mem_prot_at(a + P), PROT_READ);
    // NOREPLACE refuses anything mapped, as the host does.
    EXPECT_EQ(guest_mem_mmap(a, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
    EXPECT_EQ(guest_mem_mmap(a + 1, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), -EINVAL);
}

TEST_F(GuestMemTest, MunmapMprotectMadviseLeaveEmbersMemoryAlone)
{
    EmberMemory ember(4);
    EXPECT_EQ(guest_mem_munmap(ember.addr(), ember.len), 0) << "unmapping nothing of the guest's succeeds";
    EXPECT_TRUE(ember.Intact());
    EXPECT_EQ(guest_mem_mprotect(ember.addr(), ember.len, PROT_NONE), -ENOMEM);
    EXPECT_TRUE(ember.Intact());
    EXPECT_EQ(guest_mem_madvise(ember.addr(), ember.len, MADV_DONTNEED), -ENOMEM);
    EXPECT_TRUE(ember.Intact());
    EXPECT_EQ(guest_mem_mremap(ember.addr(), P, 2 * P, MREMAP_MAYMOVE, 0), -EFAULT);
    EXPECT_TRUE(ember.Intact());
}

TEST_F(GuestMemTest, MprotectAndMadviseOnGuestMemory)
{
    uint64_t a = MapAnon(3);
    memset((void *)(uintptr_t)a, 9, 3 * P);
    EXPECT_EQ(guest_mem_mprotect(a + P, P, PROT_READ), 0);
    EXPECT_EQ(guest_mem_prot_at(a + P), PROT_READ);
    EXPECT_TRUE(WriteFaults(a + P));
    EXPECT_FALSE(WriteFaults(a));
    EXPECT_EQ(guest_mem_mprotect(a + 1, P, PROT_READ), -EINVAL);
    EXPECT_EQ(guest_mem_mprotect(a, P, 0x100), -EINVAL);
    EXPECT_EQ(guest_mem_madvise(a + 2 * P, P, MADV_DONTNEED), 0);
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)(a + 2 * P), 0);
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)a, 9);
}

TEST_F(GuestMemTest, MremapMovesTheRecord)
{
    uint64_t a = MapAnon(2);
    memset((void *)(uintptr_t)a, 3, 2 * P);
    EmberMemory blocker(1);   // likely right below a: whatever, MAYMOVE handles it
    long r = guest_mem_mremap(a, 2 * P, 64 * P, MREMAP_MAYMOVE, 0);
    ASSERT_GT(r, 0);
    uint64_t b = (uint64_t)r;
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)(b + P), 3);
    EXPECT_TRUE(guest_mem_is_guest(b, 64 * P));
    if (b != a) {
        EXPECT_FALSE(guest_mem_any_guest(a, 2 * P));
    }
    r = guest_mem_mremap(b, 64 * P, P, 0, 0);
    EXPECT_EQ(r, (long)b);
    EXPECT_FALSE(guest_mem_any_guest(b + P, 63 * P));
    // MREMAP_FIXED onto ember's memory is refused.
    EmberMemory ember(2);
    EXPECT_EQ(guest_mem_mremap(b, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, ember.addr()), -ENOMEM);
    EXPECT_TRUE(ember.Intact());
}

TEST_F(GuestMemTest, BrkGrowsAndShrinks)
{
    // Somewhere free with room to grow.
    void *probe = mmap(nullptr, 64 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t start = (uintptr_t)probe + 0x123;   // unaligned, as the end of a .bss is
    munmap(probe, 64 * P);
    guest_mem_brk_init(start);
    uint64_t base = GUEST_PAGE_ALIGN(start);
    EXPECT_EQ(guest_mem_brk(0), base);
    EXPECT_EQ(guest_mem_brk(base - 1), base) << "below the start: unchanged";
    EXPECT_EQ(guest_mem_brk(base + 5000), base + 5000);
    memset((void *)(uintptr_t)base, 0x5a, 5000);
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)(base + 8191), 0);
    char expect[128];
    snprintf(expect, sizeof(expect), "%08lx-%08lx rw-p 00000000 00:00 0", (unsigned long)base,
             (unsigned long)base + 2 * P);
    std::string maps = Maps();
    EXPECT_NE(maps.find(expect), std::string::npos) << maps;
    EXPECT_NE(maps.find("[heap]\n"), std::string::npos) << maps;
    EXPECT_EQ(guest_mem_brk(base + 100), base + 100);
    EXPECT_FALSE(ember_test::AnyMapped(base + P, P));
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)(base + 99), 0x5a);
    // Something of ember's in the way: brk stays where it is, as Linux's does.
    void *wall = mmap((void *)(uintptr_t)(base + 8 * P), P, PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    ASSERT_EQ((uintptr_t)wall, base + 8 * P);
    EXPECT_EQ(guest_mem_brk(base + 20 * P), base + 100);
    EXPECT_EQ(guest_mem_brk(base + 8 * P), base + 8 * P);
    munmap(wall, P);
    EXPECT_EQ(guest_mem_brk(base), base);
    EXPECT_FALSE(guest_mem_any_guest(base, 8 * P));
}

TEST_F(GuestMemTest, SysvSharedMemory)
{
    int id = shmget(IPC_PRIVATE, 3 * P - 100, IPC_CREAT | 0600);
    ASSERT_GE(id, 0);
    long r = guest_mem_shmat(id, 0, 0);
    shmctl(id, IPC_RMID, nullptr);
    ASSERT_GT(r, 0);
    uint64_t a = (uint64_t)r;
    memset((void *)(uintptr_t)a, 1, 3 * P - 100);
    char expect[128];
    snprintf(expect, sizeof(expect), "%08lx-%08lx rw-s 00000000 00:01 %d", (unsigned long)a, (unsigned long)a + 3 * P,
             id);
    std::string maps = Maps();
    EXPECT_NE(maps.find(expect), std::string::npos) << maps;
    EXPECT_NE(maps.find("/SYSV00000000 (deleted)\n"), std::string::npos) << maps;
    EXPECT_EQ(guest_mem_mprotect(a + P, P, PROT_READ), 0);   // split: shmdt still finds all of it
    EXPECT_EQ(guest_mem_shmdt(a), 0);
    EXPECT_FALSE(guest_mem_any_guest(a, 3 * P));
    EXPECT_FALSE(ember_test::AnyMapped(a, 3 * P));
    EXPECT_EQ(guest_mem_shmdt(a), -EINVAL);
    // SHM_REMAP never lands on ember's memory.
    id = shmget(IPC_PRIVATE, P, IPC_CREAT | 0600);
    ASSERT_GE(id, 0);
    EmberMemory ember(1);
    EXPECT_EQ(guest_mem_shmat(id, ember.addr(), SHM_REMAP), -ENOMEM);
    EXPECT_TRUE(ember.Intact());
    shmctl(id, IPC_RMID, nullptr);
}

// ---- self-modifying code ----

void OnSegv(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    if (guest_mem_handle_write_fault((uint64_t)(uintptr_t)si->si_addr))
        return;   // retry the write
    signal(sig, SIG_DFL);
}

TEST_F(GuestMemTest, CodePagesAreWriteProtectedUntilWritten)
{
    struct sigaction sa = {}, old;
    sa.sa_sigaction = OnSegv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, &old);

    guest_mem_install_hooks();
    uint64_t a = MapAnon(2);
    const TBPageHooks *hooks = guest_mem_page_hooks();
    hooks->protect(a, true);
    EXPECT_TRUE(guest_mem_page_is_code(a));
    EXPECT_FALSE(guest_mem_page_is_code(a + P));
    EXPECT_TRUE(WriteFaults(a)) << "the host page lost PROT_WRITE";
    EXPECT_EQ(guest_mem_prot_at(a), PROT_READ | PROT_WRITE) << "the guest still sees it writable";

    // The guest's mprotect cannot give the write right back while there is code.
    EXPECT_EQ(guest_mem_mprotect(a, 2 * P, PROT_READ | PROT_WRITE | PROT_EXEC), 0);
    EXPECT_TRUE(WriteFaults(a));
    EXPECT_FALSE(WriteFaults(a + P));

    // A write: the handler drops the code and the write goes through.
    *(volatile uint8_t *)(uintptr_t)(a + 10) = 42;
    EXPECT_EQ(*(const uint8_t *)(uintptr_t)(a + 10), 42);
    EXPECT_FALSE(guest_mem_page_is_code(a));
    EXPECT_FALSE(WriteFaults(a));

    // Faults that are not ours are not handled.
    EXPECT_FALSE(guest_mem_handle_write_fault(a + 5 * P + 123456));
    guest_mem_mprotect(a + P, P, PROT_READ);
    EXPECT_FALSE(guest_mem_handle_write_fault(a + P));

    // Unmapping code drops it.
    hooks->protect(a, true);
    uint64_t pages[4];
    EXPECT_EQ(guest_mem_code_pages(a, 2 * P, pages, 4), 1u);
    EXPECT_EQ(pages[0], a);
    EXPECT_EQ(guest_mem_munmap(a, 2 * P), 0);
    EXPECT_FALSE(guest_mem_page_is_code(a));

    // prepare_write (before the host kernel writes into guest memory) makes the pages writable.
    uint64_t b = MapAnon(1);
    hooks->protect(b, true);
    guest_mem_prepare_write(b + 5, 10);
    EXPECT_FALSE(guest_mem_page_is_code(b));
    EXPECT_FALSE(WriteFaults(b));
    sigaction(SIGSEGV, &old, nullptr);
}

}  // namespace
