// -strace lines of representative calls, in strace's format. The "guest" memory is this process's.
#include <gtest/gtest.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>

#include <string>

extern "C" {
#include "syscalls/strace.h"
}

// Formats one call: arguments before it "runs", `between` (the call's effect on memory), then the line.
template <typename F>
static std::string trace(long nr, std::initializer_list<long> list, long ret, F between)
{
    long args[6] = { 0 };
    int i = 0;
    for (long v : list)
        args[i++] = v;
    StraceCall call;
    strace_enter(&call, nr, args);
    between();
    char line[STRACE_LINE_MAX];
    size_t len = strace_exit(&call, 12345, ret, line, sizeof line);
    EXPECT_EQ(len, strlen(line));
    return line;
}

static std::string trace(long nr, std::initializer_list<long> list, long ret)
{
    return trace(nr, list, ret, [] {});
}

// How a pointer prints: 0x... in lower case.
static std::string ptr(const void *p)
{
    char text[32];
    snprintf(text, sizeof text, "%p", p);
    return text;
}

TEST(StraceFormat, OpenFlagsAndStrings)
{
    EXPECT_EQ(trace(SYS_openat, { AT_FDCWD, (long)"/etc/passwd", O_RDONLY | O_CLOEXEC }, 3),
              "12345 openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC) = 3\n");
    // the mode shows only when the call may create the file
    EXPECT_EQ(trace(SYS_openat, { 5, (long)"x", O_WRONLY | O_CREAT | O_TRUNC, 0644 }, 4),
              "12345 openat(5, \"x\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 4\n");
    EXPECT_EQ(trace(SYS_open, { (long)"/nope", O_RDWR | 0x40000000 }, -ENOENT),
              "12345 open(\"/nope\", O_RDWR|0x40000000) = -1 ENOENT (No such file or directory)\n");
}

TEST(StraceFormat, BuffersAndEscapes)
{
    const char data[] = "a\"b\\\n\t\001x\0011\377";
    EXPECT_EQ(trace(SYS_write, { 1, (long)data, sizeof data - 1 }, 11),
              "12345 write(1, \"a\\\"b\\\\\\n\\t\\1x\\0011\\377\", 11) = 11\n");
    const char *longer = "0123456789abcdefghijklmnopqrstuvwxyz";
    EXPECT_EQ(trace(SYS_write, { 2, (long)longer, 36 }, 36),
              "12345 write(2, \"0123456789abcdefghijklmnopqrstuv\"..., 36) = 36\n");

    // a read's buffer is printed after the call, as long as the result says
    char buf[16] = { 0 };
    EXPECT_EQ(trace(SYS_read, { 3, (long)buf, sizeof buf }, 5, [&] { memcpy(buf, "hello", 5); }),
              "12345 read(3, \"hello\", 16) = 5\n");
    EXPECT_EQ(trace(SYS_read, { 3, (long)buf, sizeof buf }, -EAGAIN),
              "12345 read(3, " + ptr(buf) + ", 16) = -1 EAGAIN (Resource temporarily unavailable)\n");
}

TEST(StraceFormat, BadPointersPrintAsNumbers)
{
    EXPECT_EQ(trace(SYS_openat, { AT_FDCWD, 0x10, O_RDONLY }, -EFAULT),
              "12345 openat(AT_FDCWD, 0x10, O_RDONLY) = -1 EFAULT (Bad address)\n");
    EXPECT_EQ(trace(SYS_write, { 1, 0x10, 4 }, -EFAULT), "12345 write(1, 0x10, 4) = -1 EFAULT (Bad address)\n");
    EXPECT_EQ(trace(SYS_stat, { 0, 0 }, -EFAULT), "12345 stat(NULL, NULL) = -1 EFAULT (Bad address)\n");
}

TEST(StraceFormat, MemoryCalls)
{
    EXPECT_EQ(trace(SYS_mmap, { 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 },
                    0x7f0000001000L),
              "12345 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000\n");
    EXPECT_EQ(trace(SYS_mprotect, { 0x400000, 8192, PROT_NONE }, 0),
              "12345 mprotect(0x400000, 8192, PROT_NONE) = 0\n");
    EXPECT_EQ(trace(SYS_brk, { 0 }, 0x555555559000L), "12345 brk(NULL) = 0x555555559000\n");
    EXPECT_EQ(trace(SYS_mmap, { 0x7f0000000000L, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE,
                                3, 0x26000 }, 0x7f0000000000L),
              "12345 mmap(0x7f0000000000, 8192, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000) "
              "= 0x7f0000000000\n");
}

TEST(StraceFormat, Signals)
{
    EXPECT_EQ(trace(SYS_kill, { 42, SIGKILL }, 0), "12345 kill(42, SIGKILL) = 0\n");
    EXPECT_EQ(trace(SYS_tgkill, { 1, 2, 34 }, 0), "12345 tgkill(1, 2, SIGRT_2) = 0\n");
    uint64_t set = (1ULL << (SIGINT - 1)) | (1ULL << (SIGTERM - 1)), old = 0;
    EXPECT_EQ(trace(SYS_rt_sigprocmask, { SIG_BLOCK, (long)&set, (long)&old, 8 }, 0,
                    [&] { old = 1ULL << (SIGCHLD - 1); }),
              "12345 rt_sigprocmask(SIG_BLOCK, [INT TERM], [CHLD], 8) = 0\n");
    uint64_t all_but = ~(1ULL << (SIGKILL - 1));
    EXPECT_EQ(trace(SYS_rt_sigprocmask, { SIG_SETMASK, (long)&all_but, 0, 8 }, 0),
              "12345 rt_sigprocmask(SIG_SETMASK, ~[KILL], NULL, 8) = 0\n");
    uint64_t sa[4] = { 0x401000, SA_SIGINFO | 0x04000000 | SA_RESTART, 0x402000, 0 };
    EXPECT_EQ(trace(SYS_rt_sigaction, { SIGSEGV, (long)sa, 0, 8 }, 0),
              "12345 rt_sigaction(SIGSEGV, {sa_handler=0x401000, sa_mask=[], "
              "sa_flags=SA_RESTORER|SA_RESTART|SA_SIGINFO, sa_restorer=0x402000}, NULL, 8) = 0\n");
}

TEST(StraceFormat, FlagsThatHideArguments)
{
    int word = 0;
    EXPECT_EQ(trace(SYS_futex, { (long)&word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0 }, 0),
              "12345 futex(" + ptr(&word) + ", FUTEX_WAKE_PRIVATE, 1) = 0\n");
    long ts[2] = { 2, 0 };
    EXPECT_EQ(trace(SYS_futex, { (long)&word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, (long)ts, 0, 0 }, -ETIMEDOUT),
              "12345 futex(" + ptr(&word) +
                  ", FUTEX_WAIT_PRIVATE, 0, {tv_sec=2, tv_nsec=0}) = -1 ETIMEDOUT (Connection timed out)\n");
    EXPECT_EQ(trace(SYS_fcntl, { 3, F_GETFD, 99 }, 1), "12345 fcntl(3, F_GETFD) = 1\n");
    EXPECT_EQ(trace(SYS_fcntl, { 3, F_SETFL, O_RDWR | O_NONBLOCK }, 0),
              "12345 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n");
    EXPECT_EQ(trace(SYS_clone, { CLONE_VM | CLONE_FS | SIGCHLD, 0, 0, 0, 0 }, 77),
              "12345 clone(CLONE_VM|CLONE_FS|SIGCHLD, NULL, NULL, NULL, 0) = 77\n");
}

TEST(StraceFormat, Structures)
{
    int fds[2] = { -1, -1 };
    EXPECT_EQ(trace(SYS_pipe2, { (long)fds, O_CLOEXEC }, 0, [&] { fds[0] = 3; fds[1] = 4; }),
              "12345 pipe2([3, 4], O_CLOEXEC) = 0\n");
    struct stat st = {};
    EXPECT_EQ(trace(SYS_fstat, { 3, (long)&st }, 0, [&] { st.st_mode = S_IFREG | 0644; st.st_size = 1234; }),
              "12345 fstat(3, {st_mode=S_IFREG|0644, st_size=1234, ...}) = 0\n");
    long ts[2] = { 1, 500 };
    EXPECT_EQ(trace(SYS_nanosleep, { (long)ts, 0 }, 0), "12345 nanosleep({tv_sec=1, tv_nsec=500}, NULL) = 0\n");
    const char *argv[] = { "ls", "-l", nullptr };
    const char *envp[] = { "A=1", "B=2", "C=3", nullptr };
    char envp_text[64];
    snprintf(envp_text, sizeof envp_text, "%s /* 3 vars */", ptr(envp).c_str());
    EXPECT_EQ(trace(SYS_execve, { (long)"/bin/ls", (long)argv, (long)envp }, 0),
              std::string("12345 execve(\"/bin/ls\", [\"ls\", \"-l\"], ") + envp_text + ") = 0\n");
}

TEST(StraceFormat, ThreadsAndAltStacks)
{
    uint64_t ca[11] = { CLONE_VM | CLONE_THREAD, 0, 0x1000, 0x2000, 0, 0x7f0000000000, 0x10000, 0x3000 };
    EXPECT_EQ(trace(SYS_clone3, { (long)ca, 88 }, 99),
              "12345 clone3({flags=CLONE_VM|CLONE_THREAD, child_tid=0x1000, parent_tid=0x2000, exit_signal=0, "
              "stack=0x7f0000000000, stack_size=0x10000, tls=0x3000}, 88) = 99\n");
    struct { uint64_t sp; int32_t flags, pad; uint64_t size; } ss = { 0x5000, 0, 0, 8192 }, old = { 0, 0, 0, 0 };
    EXPECT_EQ(trace(SYS_sigaltstack, { (long)&ss, (long)&old }, 0, [&] { old.flags = SS_DISABLE; }),
              "12345 sigaltstack({ss_sp=0x5000, ss_flags=0, ss_size=8192}, {ss_sp=NULL, ss_flags=SS_DISABLE, "
              "ss_size=0}) = 0\n");
}

TEST(StraceFormat, HugeArgumentsStayBounded)
{
    static std::string word(100, 'w');
    const char *argv[41];
    for (int i = 0; i < 40; i++)
        argv[i] = word.c_str();
    argv[40] = nullptr;
    std::string line = trace(SYS_execve, { (long)word.c_str(), (long)argv, 0 }, -E2BIG);
    EXPECT_LT(line.size(), (size_t)STRACE_LINE_MAX);
    const std::string tail = ") = -1 E2BIG (Argument list too long)\n";
    ASSERT_GT(line.size(), tail.size());
    EXPECT_EQ(line.substr(line.size() - tail.size()), tail);
    EXPECT_NE(line.find("\"" + word.substr(0, 32) + "\"..."), std::string::npos);
}

TEST(StraceFormat, UnfinishedAndResumed)
{
    long args[6] = { (long)"/nonexistent", 0, 0 };
    StraceCall call;
    strace_enter(&call, SYS_execve, args);
    char line[STRACE_LINE_MAX];
    strace_unfinished(&call, 7, line, sizeof line);
    EXPECT_STREQ(line, "7 execve(\"/nonexistent\", NULL, NULL <unfinished ...>\n");
    strace_resumed(&call, 7, -ENOENT, line, sizeof line);
    EXPECT_STREQ(line, "7 <... execve resumed>) = -1 ENOENT (No such file or directory)\n");
}

TEST(StraceFormat, ResultsAndUnknownNumbers)
{
    EXPECT_EQ(trace(SYS_exit_group, { 3 }, STRACE_NO_RETURN), "12345 exit_group(3) = ?\n");
    EXPECT_EQ(trace(SYS_getpid, {}, 12345), "12345 getpid() = 12345\n");
    EXPECT_EQ(trace(999, { 1, 2, 3, 4, 5, 6 }, -ENOSYS),
              "12345 syscall_999(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)\n");
    char name[32];
    EXPECT_STREQ(strace_errno_name(ENOENT, name), "ENOENT");
    EXPECT_STREQ(strace_signal_name(SIGSEGV, name), "SIGSEGV");
}
