// /proc/self emulation: exe, maps, auxv, cmdline and environ describe the guest; other files are the host's.
#include <gtest/gtest.h>

#include <errno.h>
#include <limits.h>

#include <string>
#include <vector>

#include "user/linux/tests/test-util.h"

extern "C" {
#include "user/linux/elf-load.h"
#include "user/linux/guest-mem.h"
#include "user/linux/proc.h"
#include "user/linux/stack.h"
}

namespace {

std::string ReadAll(int fd)
{
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        out.append(buf, n);
    return out;
}

class ProcTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        static bool loaded;
        if (!loaded) {
            char err[512];
            ASSERT_EQ(linux_elf_load("/bin/true", nullptr, &img_, err, sizeof(err)), 0) << err;
            static char *argv[] = {(char *)"true", (char *)"--first", (char *)"", (char *)"x y", nullptr};
            static char *envp[] = {(char *)"HOME=/nowhere", (char *)"LANG=C", nullptr};
            uint64_t sp;
            ASSERT_EQ(linux_stack_setup(&img_, argv, envp, 0, 0xbfebfbff, &sp, err, sizeof(err)), 0) << err;
            loaded = true;
        }
    }

    std::string OpenAndRead(const std::string &path, int dirfd = AT_FDCWD)
    {
        int fd = linux_proc_open(dirfd, path.c_str(), O_RDONLY | O_CLOEXEC, 0);
        EXPECT_GE(fd, 0) << path;
        if (fd < 0)
            return "";
        EXPECT_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        std::string s = ReadAll(fd);
        close(fd);
        return s;
    }

    static LinuxElfImage img_;
};

LinuxElfImage ProcTest::img_;

TEST_F(ProcTest, ExeIsTheGuestProgram)
{
    char real[PATH_MAX];
    ASSERT_TRUE(realpath("/bin/true", real));
    char buf[PATH_MAX];
    long n = linux_proc_readlink(AT_FDCWD, "/proc/self/exe", buf, sizeof(buf));
    ASSERT_EQ(n, (long)strlen(real));
    EXPECT_EQ(std::string(buf, n), real);
    // Through our pid, thread-self and a task directory too.
    std::string by_pid = "/proc/" + std::to_string(getpid()) + "/exe";
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, by_pid.c_str(), buf, sizeof(buf)), n);
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "/proc/thread-self/exe", buf, sizeof(buf)), n);
    std::string task = "/proc/self/task/" + std::to_string(getpid()) + "/exe";
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, task.c_str(), buf, sizeof(buf)), n);
    // Cut like readlink(2), without a NUL.
    memset(buf, 'Z', sizeof(buf));
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "//proc/./self//exe", buf, 4), 4);
    EXPECT_EQ(std::string(buf, 5), std::string(real, 4) + "Z");
    // A bad buffer is the guest's problem, not a crash.
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "/proc/self/exe", (char *)(uintptr_t)0x10, 64), -EFAULT);
    void *ro = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "/proc/self/exe", (char *)ro, 64), -EFAULT);
    munmap(ro, 4096);
    // Opening it opens the program.
    int fd = linux_proc_open(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0);
    ASSERT_GE(fd, 0);
    auto bytes = ember_test::ReadFile(real);
    EXPECT_EQ(ReadAll(fd), std::string(bytes.begin(), bytes.end()));
    close(fd);
}

TEST_F(ProcTest, OtherPathsAreNotOurs)
{
    char buf[64];
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "/proc/self/cwd", buf, sizeof(buf)), LINUX_PROC_NOT_OURS);
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "/proc/1/exe", buf, sizeof(buf)), LINUX_PROC_NOT_OURS);
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "/proc/self/../self/exe", buf, sizeof(buf)), LINUX_PROC_NOT_OURS);
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "/etc/passwd", buf, sizeof(buf)), LINUX_PROC_NOT_OURS);
    EXPECT_EQ(linux_proc_readlink(AT_FDCWD, "/proc/self/maps", buf, sizeof(buf)), -EINVAL) << "not a link";
    EXPECT_EQ(linux_proc_open(AT_FDCWD, "/proc/self/stat", O_RDONLY, 0), LINUX_PROC_NOT_OURS);
    EXPECT_EQ(linux_proc_open(AT_FDCWD, "/proc/self/status", O_RDONLY, 0), LINUX_PROC_NOT_OURS);
    EXPECT_EQ(linux_proc_open(AT_FDCWD, "/proc/self/maps/x", O_RDONLY, 0), LINUX_PROC_NOT_OURS);
}

TEST_F(ProcTest, MapsIsTheGuestsMap)
{
    size_t len;
    char *expect = guest_mem_format_maps(&len);
    std::string maps = OpenAndRead("/proc/self/maps");
    EXPECT_EQ(maps, std::string(expect, len));
    free(expect);
    EXPECT_NE(maps.find("[stack]\n"), std::string::npos);
    EXPECT_NE(maps.find(" /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"), std::string::npos) << maps;
    // The guest's map only: not this test binary.
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    ASSERT_GT(n, 0);
    self[n] = '\0';
    EXPECT_EQ(maps.find(self), std::string::npos);
    // Relative to a directory fd of /proc/self.
    int dir = open("/proc/self", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dir, 0);
    EXPECT_EQ(OpenAndRead("maps", dir), maps);
    close(dir);
    // Read-only, like the kernel's.
    EXPECT_EQ(linux_proc_open(AT_FDCWD, "/proc/self/maps", O_RDWR, 0), -EACCES);
}

TEST_F(ProcTest, AuxvCmdlineEnviron)
{
    size_t bytes;
    const uint64_t *av = linux_stack_auxv(&bytes);
    ASSERT_NE(av, nullptr);
    std::string auxv = OpenAndRead("/proc/self/auxv");
    ASSERT_EQ(auxv.size(), bytes);
    EXPECT_EQ(memcmp(auxv.data(), av, bytes), 0);
    const uint64_t *last = (const uint64_t *)(auxv.data() + auxv.size() - 16);
    EXPECT_EQ(last[0], (uint64_t)AT_NULL);

    EXPECT_EQ(OpenAndRead("/proc/self/cmdline"), std::string("true\0--first\0\0x y\0", 18));
    EXPECT_EQ(OpenAndRead("/proc/self/environ"), std::string("HOME=/nowhere\0LANG=C\0", 21));
    // Live, as the kernel's: a program that rewrites its argv shows the new text.
    const LinuxStack *st = linux_stack_current();
    ASSERT_NE(st, nullptr);
    ((char *)(uintptr_t)st->arg_start)[0] = 'T';
    EXPECT_EQ(OpenAndRead("/proc/" + std::to_string(getpid()) + "/cmdline"), std::string("True\0--first\0\0x y\0", 18));
}

}  // namespace
