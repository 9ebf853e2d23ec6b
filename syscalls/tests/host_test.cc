// The raw host call, safe guest-memory reads, unknown-number bookkeeping and pointer ranges.
#include <gtest/gtest.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

extern "C" {
#include "syscalls/syscalls.h"
}

TEST(SyscallHost, ReturnsRawResults)
{
    long none[6] = { 0 };
    EXPECT_EQ(syscall_host(SYS_getpid, none), getpid());
    long bad_close[6] = { -1 };
    EXPECT_EQ(syscall_host(SYS_close, bad_close), -EBADF);
    errno = 0;
    long fault[6] = { 1, 0, 1 };                 // write(1, NULL, 1)
    EXPECT_EQ(syscall_host(SYS_write, fault), -EFAULT);
    EXPECT_EQ(errno, 0) << "the raw call must not touch errno";
}

TEST(SyscallHost, PeekStopsAtUnmappedMemory)
{
    char *pages = (char *)mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(pages, MAP_FAILED);
    ASSERT_EQ(munmap(pages + 4096, 4096), 0);
    memset(pages, 'x', 4096);
    char buf[64];
    EXPECT_EQ(syscall_peek(buf, (uint64_t)(pages + 4096 - 10), 20), 10u);
    EXPECT_EQ(syscall_peek(buf, 1, 8), 0u);
    EXPECT_EQ(syscall_peek(buf, (uint64_t)pages, 64), 64u);
    munmap(pages, 4096);
}

TEST(SyscallHost, UnknownReportedOnce)
{
    EXPECT_TRUE(syscall_unknown_first(999));
    EXPECT_FALSE(syscall_unknown_first(999));
    EXPECT_TRUE(syscall_unknown_first(1000));
    EXPECT_TRUE(syscall_unknown_first(1L << 40));
    EXPECT_FALSE(syscall_unknown_first(1L << 40));
}

TEST(SyscallHost, PointerRanges)
{
    char a[10], b[20];
    long read_args[6] = { 3, (long)a, sizeof a };
    SyscallRange r[8];
    ASSERT_EQ(syscall_pointer_ranges(syscall_info(SYS_read), read_args, r, 8), 1);
    EXPECT_EQ(r[0].addr, (uint64_t)a);
    EXPECT_EQ(r[0].len, sizeof a);

    struct iovec iov[2] = { { a, sizeof a }, { b, sizeof b } };
    long readv_args[6] = { 3, (long)iov, 2 };
    ASSERT_EQ(syscall_pointer_ranges(syscall_info(SYS_readv), readv_args, r, 8), 3);
    EXPECT_EQ(r[0].addr, (uint64_t)iov);
    EXPECT_EQ(r[1].addr, (uint64_t)a);
    EXPECT_EQ(r[2].addr, (uint64_t)b);
    EXPECT_EQ(r[2].len, sizeof b);

    long stat_args[6] = { (long)"/", (long)b };
    ASSERT_EQ(syscall_pointer_ranges(syscall_info(SYS_stat), stat_args, r, 8), 2);
    EXPECT_EQ(r[1].len, 144u);
    long getpid_args[6] = { 0 };
    EXPECT_EQ(syscall_pointer_ranges(syscall_info(SYS_getpid), getpid_args, r, 8), 0);
}
