// The user-mode dispatcher (user/linux/syscall.c) and the file family: handlers, PASS to the host,
// -ENOSYS, "Unknown syscall" once, -strace lines, and the -EFAULT retry on pages holding translated code.
#include <gtest/gtest.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

// cpu.h is C11; its _Static_assert is C++'s static_assert.
#define _Static_assert static_assert
extern "C" {
#include "core/tcg/tb.h"
#include "syscalls/syscalls.h"
#include "user/linux/sys-families.h"
#include "user/linux/syscall.h"
}

static CPUX86State env;

static long run(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
{
    env.regs[R_EAX] = (uint64_t)nr;
    env.regs[R_EDI] = (uint64_t)a0;
    env.regs[R_ESI] = (uint64_t)a1;
    env.regs[R_EDX] = (uint64_t)a2;
    env.regs[R_R10] = (uint64_t)a3;
    env.regs[R_R8] = (uint64_t)a4;
    env.regs[R_R9] = (uint64_t)a5;
    linux_do_syscall(&env);
    return (long)env.regs[R_EAX];
}

// Collects what -strace prints through a pipe.
struct StraceCapture {
    int fds[2];
    StraceCapture()
    {
        EXPECT_EQ(pipe2(fds, O_NONBLOCK), 0);
        linux_strace_enable(fds[1]);
    }
    ~StraceCapture()
    {
        linux_strace_enable(-1);
        close(fds[0]);
        close(fds[1]);
    }
    std::string text()
    {
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = read(fds[0], buf, sizeof buf)) > 0)
            out.append(buf, (size_t)n);
        return out;
    }
};

static long seen_args[6];
static long record_args(CPUX86State *, const long args[6])
{
    memcpy(seen_args, args, sizeof seen_args);
    return 4242;
}

static long set_regs(CPUX86State *e, const long *)
{
    e->regs[R_EAX] = 77;
    return LINUX_SYSCALL_REGS_SET;
}

TEST(Dispatch, HandlersGetTheSixArgumentRegisters)
{
    linux_syscall_register(SYS_personality, record_args);
    EXPECT_EQ(run(SYS_personality, 1, 2, 3, 4, 5, 6), 4242);
    for (int i = 0; i < 6; i++)
        EXPECT_EQ(seen_args[i], i + 1);
    linux_syscall_register(SYS_personality, nullptr);

    linux_syscall_register(SYS_rt_sigreturn, set_regs);
    EXPECT_EQ(run(SYS_rt_sigreturn), 77) << "a handler that set the registers keeps its rax";
    linux_syscall_register(SYS_rt_sigreturn, nullptr);
}

TEST(Dispatch, PassEmulAndUnknown)
{
    EXPECT_EQ(run(SYS_getpid), getpid());
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    EXPECT_EQ(run(SYS_write, fds[1], (long)"hi", 2), 2);
    char buf[4] = { 0 };
    EXPECT_EQ(read(fds[0], buf, sizeof buf), 2);
    EXPECT_STREQ(buf, "hi");
    EXPECT_EQ(run(SYS_close, 1000), -EBADF);
    close(fds[0]);
    close(fds[1]);

    EXPECT_EQ(run(SYS_rseq, 0, 0, 0, 0), -ENOSYS) << "EMUL without a handler";

    StraceCapture capture;
    EXPECT_EQ(run(0x3e7, 1, 2), -ENOSYS);
    EXPECT_EQ(run(0x3e7, 1, 2), -ENOSYS);
    std::string pid = std::to_string(getpid());
    std::string line = pid + " syscall_999(0x1, 0x2, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)\n";
    EXPECT_EQ(capture.text(), "Unknown syscall 999\n" + line + line);
}

TEST(Dispatch, StraceLines)
{
    linux_sys_files_register();
    StraceCapture capture;
    run(SYS_getppid);
    run(SYS_openat, AT_FDCWD, (long)"/nonexistent", O_RDONLY);
    std::string pid = std::to_string(getpid());
    EXPECT_EQ(capture.text(), pid + " getppid() = " + std::to_string(getppid()) + "\n" + pid +
                                  " openat(AT_FDCWD, \"/nonexistent\", O_RDONLY) = -1 ENOENT (No such file or "
                                  "directory)\n");
}

TEST(Dispatch, FileFamilyPassesOrdinaryPaths)
{
    linux_sys_files_register();
    long fd = run(SYS_openat, AT_FDCWD, (long)"/etc/passwd", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    struct stat a, b;
    ASSERT_EQ(fstat((int)fd, &a), 0);
    ASSERT_EQ(stat("/etc/passwd", &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    close((int)fd);
    EXPECT_EQ(run(SYS_open, (long)"/nonexistent", O_RDONLY), -ENOENT);
    EXPECT_EQ(run(SYS_openat, AT_FDCWD, 16, O_RDONLY), -EFAULT) << "a bad path pointer is the host's to report";
    EXPECT_EQ(run(SYS_newfstatat, AT_FDCWD, (long)"/etc/passwd", (long)&a, 0), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(run(SYS_access, (long)"/nonexistent", F_OK), -ENOENT);

    // with no guest program loaded, /proc/self is the host's
    char ours[4096] = { 0 }, host[4096] = { 0 };
    long n = run(SYS_readlink, (long)"/proc/self/exe", (long)ours, sizeof ours);
    ASSERT_GT(n, 0);
    EXPECT_EQ(readlink("/proc/self/exe", host, sizeof host), n);
    EXPECT_STREQ(ours, host);
}

// The translated-code write protection, as user/linux installs it: protected pages become read-only.
static void protect_page(uint64_t page, bool protect)
{
    mprotect((void *)page, TB_PAGE_SIZE, protect ? PROT_READ : PROT_READ | PROT_WRITE);
}

TEST(Dispatch, EfaultOnTranslatedCodeRetries)
{
    static const TBPageHooks hooks = { protect_page, nullptr, nullptr };
    tb_cache_init(nullptr);
    tb_set_page_hooks(&hooks);
    char *page = (char *)mmap(nullptr, TB_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(page, MAP_FAILED);
    auto *tb = (TranslationBlock *)calloc(1, sizeof(TranslationBlock));
    tb->pc = (uint64_t)page;
    tb->size = 16;
    tb->page[0] = (uint64_t)page;
    tb->page[1] = ~0ULL;
    ASSERT_EQ(tb_insert(tb), tb);
    ASSERT_TRUE(tb_page_has_code((uint64_t)page));

    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(write(fds[1], "code", 4), 4);
    EXPECT_EQ(run(SYS_read, fds[0], (long)page + 100, 4), 4);
    EXPECT_EQ(memcmp(page + 100, "code", 4), 0);
    EXPECT_FALSE(tb_page_has_code((uint64_t)page)) << "the page's blocks were dropped";

    // a read-only page without code still fails
    ASSERT_EQ(mprotect(page, TB_PAGE_SIZE, PROT_READ), 0);
    ASSERT_EQ(write(fds[1], "more", 4), 4);
    EXPECT_EQ(run(SYS_read, fds[0], (long)page, 4), -EFAULT);
    close(fds[0]);
    close(fds[1]);
    tb_set_page_hooks(nullptr);
    munmap(page, TB_PAGE_SIZE);
}

// Every EMUL syscall has a handler once the families are registered (NOSYS ones answer -ENOSYS on purpose).
TEST(Dispatch, EveryEmulatedCallHasAHandler)
{
    linux_syscalls_init();
    for (long nr = 0; nr < SYSCALL_NR_LIMIT; nr++) {
        const SyscallInfo *info = syscall_info(nr);
        if (info && info->mode == SYSCALL_EMUL) {
            EXPECT_NE(linux_syscall_handler((int)nr), nullptr) << info->name << " has no handler";
        }
    }
}
