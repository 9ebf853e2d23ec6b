// The table against the kernel headers of the host: every __NR_ of asm/unistd_64.h appears with its
// number and name, and nothing else does; the argument kinds are consistent with nargs.
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

extern "C" {
#include "syscalls/syscalls.h"
}

static std::map<std::string, long> header_syscalls()
{
    std::map<std::string, long> out;
    std::ifstream in("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string define, name;
        long nr;
        if (words >> define >> name >> nr && define == "#define" && name.rfind("__NR_", 0) == 0)
            out[name.substr(5)] = nr;
    }
    return out;
}

TEST(SyscallTable, MatchesKernelHeader)
{
    auto header = header_syscalls();
    ASSERT_GT(header.size(), 350u) << "could not read the host's asm/unistd_64.h";
    for (auto &[name, nr] : header) {
        const SyscallInfo *info = syscall_info(nr);
        ASSERT_NE(info, nullptr) << name << " (" << nr << ") is missing";
        EXPECT_STREQ(info->name, name.c_str()) << "number " << nr;
        EXPECT_EQ(info->nr, nr);
        EXPECT_EQ(syscall_lookup(name.c_str()), nr) << name;
    }
    EXPECT_EQ((size_t)syscall_count(), header.size()) << "the table has syscalls the header does not";
}

TEST(SyscallTable, AgreesWithLibcNumbers)
{
    EXPECT_EQ(syscall_lookup("openat"), SYS_openat);
    EXPECT_EQ(syscall_lookup("exit_group"), SYS_exit_group);
    EXPECT_EQ(syscall_lookup("clone3"), SYS_clone3);
    EXPECT_EQ(syscall_lookup("no_such_call"), -1);
    EXPECT_EQ(syscall_info(-1), nullptr);
    EXPECT_EQ(syscall_info(400), nullptr);   // the hole between rseq and pidfd_send_signal
    EXPECT_EQ(syscall_info(SYSCALL_NR_LIMIT), nullptr);
}

TEST(SyscallTable, KindsMatchArgumentCount)
{
    for (long nr = 0; nr < SYSCALL_NR_LIMIT; nr++) {
        const SyscallInfo *info = syscall_info(nr);
        if (!info)
            continue;
        ASSERT_LE(info->nargs, 6) << info->name;
        for (int i = 0; i < 6; i++) {
            if (i < info->nargs) {
                EXPECT_NE(info->kind[i], SK__) << info->name << " argument " << i;
            } else {
                EXPECT_EQ(info->kind[i], SK__) << info->name << " argument " << i;
            }
            // a buffer's length is the next argument, which must exist
            if (i < info->nargs && (syscall_kind_flags((SyscallKind)info->kind[i]) & SKF_LEN)) {
                EXPECT_LT(i + 1, info->nargs) << info->name << " argument " << i;
            }
        }
    }
}

TEST(SyscallTable, Modes)
{
    // the calls other families emulate, and the ones that must never reach the host
    for (const char *name : { "mmap", "munmap", "mprotect", "brk", "rt_sigaction", "rt_sigreturn", "clone",
                              "clone3", "fork", "vfork", "execve", "exit", "exit_group", "arch_prctl",
                              "openat", "readlink", "shmat", "set_tid_address" }) {
        long nr = syscall_lookup(name);
        ASSERT_GE(nr, 0) << name;
        EXPECT_EQ(syscall_info(nr)->mode, SYSCALL_EMUL) << name;
    }
    for (const char *name : { "rseq", "seccomp", "modify_ldt", "set_thread_area" }) {
        long nr = syscall_lookup(name);
        ASSERT_GE(nr, 0) << name;
        EXPECT_EQ(syscall_info(nr)->mode, SYSCALL_NOSYS) << name;
    }
    for (const char *name : { "read", "write", "close", "ioctl", "futex", "uname", "getrandom", "clock_gettime",
                              "socket", "wait4", "kill", "msync" }) {
        long nr = syscall_lookup(name);
        ASSERT_GE(nr, 0) << name;
        EXPECT_EQ(syscall_info(nr)->mode, SYSCALL_PASS) << name;
    }
}

TEST(SyscallTable, KindNames)
{
    EXPECT_STREQ(syscall_kind_name(SK_OPEN_FLAGS), "OPEN_FLAGS");
    EXPECT_STREQ(syscall_kind_name(SK_BUF_OUT), "BUF_OUT");
    EXPECT_TRUE(syscall_kind_flags(SK_BUF_OUT) & SKF_OUT);
    EXPECT_FALSE(syscall_kind_flags(SK_BUF_IN) & SKF_OUT);
    EXPECT_EQ(syscall_kind_size(SK_STAT_OUT), 144u);
}
