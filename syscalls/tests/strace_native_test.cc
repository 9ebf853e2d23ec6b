// The printer against the real strace(1), the oracle: this test binary re-runs itself under strace; the
// child makes a series of raw syscalls and formats each one with our printer; the lines must equal
// strace's lines for the same calls (strace's column padding and our pid prefix aside).
#include <gtest/gtest.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "syscalls/strace.h"
}

// The child writes into static memory only: an allocation could make mmap calls of its own.
static char child_log[1 << 16];
static size_t child_log_len;

static long traced(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0)
{
    long args[6] = { a0, a1, a2, a3, a4, a5 };
    static StraceCall call;
    strace_enter(&call, nr, args);
    long ret = syscall_host(nr, args);
    child_log_len += strace_exit(&call, 1, ret, child_log + child_log_len, sizeof child_log - child_log_len);
    return ret;
}

static const char kBegin[] = "/ember-strace-begin", kEnd[] = "/ember-strace-end";
static const char kTraced[] =
    "trace=chdir,openat,read,pread64,lseek,fstat,newfstatat,close,write,writev,unlink,pipe2,dup3,fcntl,mmap,"
    "mprotect,munmap,rt_sigprocmask,rt_sigaction,kill,uname,clock_gettime,nanosleep,getcwd,readlink,access,"
    "futex,socket,connect,getrandom,wait4,sendto,kill,clock_nanosleep,prlimit64,sigaltstack";

static void child(const char *log_path, const char *tmp_path)
{
    static char buf[4096];
    static int word, status;
    static struct stat st;
    syscall(SYS_chdir, kBegin);

    long fd = traced(SYS_openat, AT_FDCWD, (long)"/etc/passwd", O_RDONLY | O_CLOEXEC);
    traced(SYS_read, fd, (long)buf, 64);
    traced(SYS_lseek, fd, 0, SEEK_SET);
    traced(SYS_pread64, fd, (long)buf, 10, 5);
    traced(SYS_fstat, fd, (long)&st);
    traced(SYS_newfstatat, AT_FDCWD, (long)"/etc/passwd", (long)&st, 0);
    traced(SYS_close, fd);
    traced(SYS_openat, AT_FDCWD, (long)"/nonexistent/x", O_RDONLY);

    long out = traced(SYS_openat, AT_FDCWD, (long)tmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    static const char text[] = "hello\n\t\001\377\"q\\";
    traced(SYS_write, out, (long)text, sizeof text - 1);
    static struct iovec iov[2] = { { (void *)"ab", 2 }, { (void *)"0123456789abcdefghijklmnopqrstuvwxyz", 36 } };
    traced(SYS_writev, out, (long)iov, 2);
    traced(SYS_close, out);
    traced(SYS_unlink, (long)tmp_path);

    static int fds[2];
    traced(SYS_pipe2, (long)fds, O_CLOEXEC);
    traced(SYS_dup3, fds[0], 40, O_CLOEXEC);
    traced(SYS_fcntl, fds[1], F_SETFL, O_NONBLOCK);

    long p = traced(SYS_mmap, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    traced(SYS_mprotect, p, 4096, PROT_READ);
    traced(SYS_munmap, p, 8192);

    static uint64_t set = (1ULL << (SIGUSR1 - 1)) | (1ULL << (SIGUSR2 - 1)), old;
    traced(SYS_rt_sigprocmask, SIG_BLOCK, (long)&set, (long)&old, 8);
    traced(SYS_rt_sigprocmask, SIG_SETMASK, (long)&old, 0, 8);
    static uint64_t sa[4] = { 1 /* SIG_IGN */, 0x04000000 | SA_RESTART, 0x401000, 1ULL << (SIGINT - 1) };
    traced(SYS_rt_sigaction, SIGUSR1, (long)sa, 0, 8);
    traced(SYS_kill, getpid(), 0);

    static struct utsname u;
    traced(SYS_uname, (long)&u);
    static struct timespec ts = { 0, 1000 };
    traced(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts);
    ts = (struct timespec){ 0, 1000 };
    traced(SYS_nanosleep, (long)&ts, 0);
    traced(SYS_getcwd, (long)buf, sizeof buf);
    traced(SYS_readlink, (long)"/proc/self/exe", (long)buf, sizeof buf);
    traced(SYS_access, (long)"/etc/passwd", R_OK | W_OK);
        traced(SYS_futex, (long)&word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1);

    long s = traced(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    static struct sockaddr_un un = { AF_UNIX, "/nonexistent.sock" };
    traced(SYS_connect, s, (long)&un, sizeof un);
    traced(SYS_getrandom, (long)buf, 8, GRND_NONBLOCK);
    static stack_t alt = { buf, 0, sizeof buf }, old_alt;
    traced(SYS_sigaltstack, (long)&alt, (long)&old_alt);
    traced(SYS_sigaltstack, 0, (long)&old_alt);
    static uint64_t limits[2];
    traced(SYS_prlimit64, 0, RLIMIT_STACK, 0, (long)limits);
    traced(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (long)limits);

    long s4 = traced(SYS_socket, AF_INET, SOCK_DGRAM, 0);
    static struct sockaddr_in in4 = { AF_INET, htons(9), { htonl(0x7f000001) }, { 0 } };
    traced(SYS_sendto, s4, (long)"ping", 4, MSG_DONTWAIT, (long)&in4, sizeof in4);
    long s6 = traced(SYS_socket, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
    static struct sockaddr_in6 in6 = { AF_INET6, htons(1), 0, IN6ADDR_LOOPBACK_INIT, 0 };
    traced(SYS_connect, s6, (long)&in6, sizeof in6);
    static struct timespec tiny = { 0, 1000 };
    traced(SYS_futex, (long)&word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 1, (long)&tiny);
    traced(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&tiny, 0);
    static uint64_t handler_sa[4] = { 0x401000, SA_SIGINFO | 0x04000000 | SA_ONSTACK, 0x402000, 0 };
    traced(SYS_rt_sigaction, SIGUSR2, (long)handler_sa, 0, 8);
    static uint64_t dfl_sa[4] = { 0, 0x04000000, 0x402000, 0 };
    traced(SYS_rt_sigaction, SIGUSR2, (long)dfl_sa, 0, 8);

    // a child that exits with 3, then one killed by a signal
    long child = syscall(SYS_fork);
    if (child == 0)
        syscall(SYS_exit_group, 3);
    traced(SYS_wait4, child, (long)&status, 0, 0);
    child = syscall(SYS_fork);
    if (child == 0)
        for (;;)
            pause();
    traced(SYS_kill, child, SIGTERM);
    traced(SYS_wait4, child, (long)&status, 0, 0);
    traced(SYS_wait4, -1, (long)&status, WNOHANG, 0);

    syscall(SYS_chdir, kEnd);
    int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log >= 0 && write(log, child_log, child_log_len) == (ssize_t)child_log_len)
        close(log);
}

__attribute__((constructor)) static void maybe_child()
{
    const char *log = getenv("EMBER_STRACE_CHILD_LOG"), *tmp = getenv("EMBER_STRACE_CHILD_TMP");
    if (log && tmp) {
        child(log, tmp);
        _exit(0);
    }
}

static std::vector<std::string> read_lines(const std::string &path)
{
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

TEST(StraceNative, SameLinesAsStrace)
{
    if (system("strace -V >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "strace is not installed";
    const char *dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
    std::string ours = std::string(dir) + "/ours.txt", theirs = std::string(dir) + "/theirs.txt";
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ASSERT_GT(n, 0);
    exe[n] = 0;
    std::string cmd = "EMBER_STRACE_CHILD_LOG=" + ours + " EMBER_STRACE_CHILD_TMP=" + dir + "/scratch strace -qq -e " +
                      kTraced + " -o " + theirs + " " + exe;
    int rc = system(cmd.c_str());
    if (rc != 0)
        GTEST_SKIP() << "strace cannot trace here (" << rc << ")";

    // strace's lines between the two markers, without the padding before " = "
    std::vector<std::string> expected;
    bool inside = false;
    std::regex pad("\\) +=( |$)");
    for (auto &line : read_lines(theirs)) {
        if (line.find(kBegin) != std::string::npos) {
            inside = true;
            continue;
        }
        if (line.find(kEnd) != std::string::npos)
            break;
        if (inside && line.rfind("--- ", 0) != 0)   // signal deliveries
            expected.push_back(std::regex_replace(line, pad, ") =$1"));
    }
    std::vector<std::string> got;
    for (auto &line : read_lines(ours))
        got.push_back(line.substr(line.find(' ') + 1));   // our pid prefix

    ASSERT_GT(expected.size(), 30u);
    for (size_t i = 0; i < expected.size() || i < got.size(); i++)
        EXPECT_EQ(i < got.size() ? got[i] : "<missing>", i < expected.size() ? expected[i] : "<extra>") << "line " << i;
}
