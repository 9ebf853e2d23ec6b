/*
 * The guest address space: large malloc (mmap-backed), brk through sbrk, anonymous and file mmap,
 * mprotect, mremap (grow in place or move), munmap, madvise(DONTNEED), and faults: a write to a
 * read-only page and reads of unmapped memory are caught by a SIGSEGV handler that checks si_addr
 * and si_code; a read past the end of a mapped file raises SIGBUS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testsuite/guest/check.h"

static sigjmp_buf recover;
static volatile int fault_signo, fault_code;
static void *volatile fault_addr;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    fault_signo = sig;
    fault_code = si->si_code;
    fault_addr = si->si_addr;
    siglongjmp(recover, 1);
}

/* Reads (or writes) one byte at P and reports the fault, if any. */
static void probe(const char *what, volatile char *p, int write, void *expect_addr)
{
    fault_signo = 0;
    fault_addr = NULL;
    if (sigsetjmp(recover, 1) == 0) {
        if (write)
            *p = 1;
        else
            (void)*p;
        printf("%-28s no fault\n", what);
        return;
    }
    const char *code = fault_signo == SIGSEGV ? (fault_code == SEGV_MAPERR   ? "SEGV_MAPERR"
                                                 : fault_code == SEGV_ACCERR ? "SEGV_ACCERR"
                                                                             : "other")
                       : fault_signo == SIGBUS ? (fault_code == BUS_ADRERR ? "BUS_ADRERR" : "other")
                                               : "?";
    printf("%-28s %s %s si_addr %s\n", what, strsignal(fault_signo), code,
           fault_addr == expect_addr ? "ok" : "WRONG");
}

static uint64_t checksum(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0);
    CHECK(sigaction(SIGBUS, &sa, NULL) == 0);

    /* A large malloc is its own mmap; fill it and checksum it. */
    size_t big = 64u << 20;
    unsigned char *m = malloc(big);
    CHECK(m != NULL);
    for (size_t i = 0; i < big; i += 4096)
        m[i] = (unsigned char)(i >> 12);
    memset(m + 100, 0xab, 10000);
    printf("malloc 64 MiB checksum %016llx\n", (unsigned long long)checksum(m, big / 64));
    free(m);

    /* Many small allocations through brk. */
    void *brk0 = sbrk(0);
    CHECK(brk0 != (void *)-1);
    char *b = sbrk(3 * page);
    CHECK(b == brk0);
    memset(b, 0x5a, 3 * page);
    CHECK(sbrk(0) == (char *)brk0 + 3 * page);
    CHECK(sbrk(-page) == (char *)brk0 + 3 * page);
    CHECK(sbrk(0) == (char *)brk0 + 2 * page);
    printf("sbrk grow and shrink ok, memory %s\n", b[2 * page - 1] == 0x5a ? "kept" : "LOST");
    void **ptrs = malloc(1000 * sizeof *ptrs);
    for (int i = 0; i < 1000; i++) {
        ptrs[i] = malloc(16 + i * 8);
        memset(ptrs[i], i, 16 + i * 8);
    }
    int bad = 0;
    for (int i = 0; i < 1000; i++) {
        bad += ((unsigned char *)ptrs[i])[i * 8 + 15] != (unsigned char)i;
        free(ptrs[i]);
    }
    free(ptrs);
    printf("1000 small mallocs: %d corrupt\n", bad);

    /* Anonymous mmap is zeroed; mprotect to read-only makes writes fault with SEGV_ACCERR. */
    char *a = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(a != MAP_FAILED);
    CHECK(((uintptr_t)a & (page - 1)) == 0);
    int zero = 1;
    for (long i = 0; i < 4 * page; i++)
        zero &= a[i] == 0;
    printf("mmap anonymous zeroed: %s\n", zero ? "yes" : "NO");
    strcpy(a + page, "second page");
    CHECK(mprotect(a + page, page, PROT_READ) == 0);
    probe("read read-only page", a + page + 3, 0, NULL);
    probe("write read-only page", a + page + 5, 1, a + page + 5);
    CHECK(mprotect(a + page, page, PROT_NONE) == 0);
    probe("read PROT_NONE page", a + page + 7, 0, a + page + 7);
    CHECK(mprotect(a + page, page, PROT_READ | PROT_WRITE) == 0);
    printf("after mprotect back: %s\n", a + page);

    /* madvise(DONTNEED) on private anonymous memory gives zero pages again. */
    a[2 * page] = 42;
    CHECK(madvise(a + 2 * page, page, MADV_DONTNEED) == 0);
    printf("after MADV_DONTNEED: %d\n", a[2 * page]);

    /* munmap one page in the middle: a hole that faults with SEGV_MAPERR. */
    CHECK(munmap(a + 3 * page, page) == 0);
    probe("read unmapped page", a + 3 * page + 9, 0, a + 3 * page + 9);
    probe("write unmapped page", a + 3 * page + 11, 1, a + 3 * page + 11);
    probe("read NULL+16", (volatile char *)16, 0, (void *)16);

    /* mremap: grow with MAYMOVE, contents preserved; the old range may move. */
    char *r = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED);
    for (long i = 0; i < 2 * page; i++)
        r[i] = (char)(i % 251);
    char *r2 = mremap(r, 2 * page, 64 * page, MREMAP_MAYMOVE);
    CHECK(r2 != MAP_FAILED);
    int same = 1;
    for (long i = 0; i < 2 * page; i++)
        same &= r2[i] == (char)(i % 251);
    r2[64 * page - 1] = 7;
    printf("mremap grow: contents %s, new tail writable\n", same ? "kept" : "LOST");
    char *r3 = mremap(r2, 64 * page, page, 0);
    CHECK(r3 == r2);
    probe("read past shrunk mremap", r2 + 2 * page, 0, r2 + 2 * page);
    CHECK(munmap(r3, page) == 0);
    CHECK(munmap(a, 3 * page) == 0);
    probe("read after munmap", a, 0, a);

    /* MAP_FIXED over part of a mapping replaces it. */
    char *f = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(f != MAP_FAILED);
    memset(f, 'x', 3 * page);
    CHECK(mmap(f + page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
          f + page);
    printf("MAP_FIXED: %c %d %c\n", f[0], f[page], f[2 * page]);
    errno = 0;
    CHECK(mmap(NULL, page, PROT_READ, MAP_PRIVATE, -1, 0) == MAP_FAILED && errno == EBADF);
    CHECK(munmap(f, 3 * page) == 0);

    /* A file mapping: reading past the end of the file (but inside the mapping) is SIGBUS. */
    char name[] = "memory-test.XXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    CHECK(write(fd, "file contents", 13) == 13);
    char *fm = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(fm != MAP_FAILED);
    printf("file mapping: %.13s, tail of page %d\n", fm, fm[page - 1]);
    probe("read past end of file", fm + page + 1, 0, fm + page + 1);
    CHECK(munmap(fm, 2 * page) == 0);
    close(fd);
    unlink(name);
    return 0;
}
