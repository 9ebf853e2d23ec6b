/*
 * File system calls on a scratch directory made in the working directory: open/read/write/lseek,
 * pread/pwrite, ftruncate, stat/fstat/lstat, getdents64 (raw and through readdir), rename, link,
 * symlink/readlink, dup2, fcntl, pipe, and standard input copied to standard output.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "testsuite/guest/check.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists DIR with raw getdents64 and a small buffer (so several calls are needed), sorted. */
static void list_raw(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    char buf[256];
    char *names[64];
    int n = 0, calls = 0;
    for (;;) {
        long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
        CHECK(got >= 0);
        if (got == 0)
            break;
        calls++;
        for (long off = 0; off < got;) {
            struct {
                unsigned long ino;
                long off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *d = (void *)(buf + off);
            CHECK(n < 64);
            names[n] = malloc(strlen(d->name) + 4);
            sprintf(names[n], "%s:%c", d->name,
                    d->type == DT_DIR ? 'd' : d->type == DT_REG ? 'f' : d->type == DT_LNK ? 'l' : '?');
            n++;
            off += d->reclen;
        }
    }
    close(fd);
    qsort(names, n, sizeof names[0], cmp_str);
    printf("getdents64: %d entries, more than one call: %s\n", n, calls > 1 ? "yes" : "no");
    for (int i = 0; i < n; i++) {
        printf("  %s\n", names[i]);
        free(names[i]);
    }
}

static void list_readdir(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        CHECK(n < 64);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    printf("readdir:");
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

int main(void)
{
    char dir[] = "scratch.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);

    /* write, lseek, read */
    int fd = open("data.bin", O_RDWR | O_CREAT | O_EXCL, 0640);
    CHECK(fd >= 0);
    char block[4096];
    for (int i = 0; i < (int)sizeof block; i++)
        block[i] = (char)(i * 7 + 3);
    for (int i = 0; i < 10; i++)
        CHECK(write(fd, block, sizeof block) == sizeof block);
    CHECK(lseek(fd, 0, SEEK_CUR) == 40960);
    CHECK(lseek(fd, 100, SEEK_SET) == 100);
    char got[16];
    CHECK(read(fd, got, 16) == 16);
    CHECK(memcmp(got, block + 100, 16) == 0);
    CHECK(lseek(fd, -10, SEEK_END) == 40950);
    CHECK(read(fd, got, 16) == 10);
    CHECK(read(fd, got, 16) == 0);
    errno = 0;
    CHECK(lseek(fd, -1, SEEK_SET) == -1 && errno == EINVAL);
    printf("write/lseek/read ok\n");

    /* pwrite/pread do not move the offset; a hole reads as zeros */
    CHECK(pwrite(fd, "HOLE", 4, 50000) == 4);
    CHECK(lseek(fd, 0, SEEK_CUR) == 40960);
    CHECK(pread(fd, got, 8, 49996) == 8);
    CHECK(memcmp(got, "\0\0\0\0HOLE", 8) == 0);
    struct iovec iov[2] = {{got, 3}, {got + 8, 5}};
    CHECK(preadv(fd, iov, 2, 0) == 8);
    CHECK(memcmp(got, block, 3) == 0 && memcmp(got + 8, block + 3, 5) == 0);
    printf("pread/pwrite/preadv ok\n");

    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("size %lld mode %o regular %d\n", (long long)st.st_size, st.st_mode & 07777, S_ISREG(st.st_mode));
    CHECK(ftruncate(fd, 1234) == 0);
    CHECK(stat("data.bin", &st) == 0);
    printf("after ftruncate: size %lld\n", (long long)st.st_size);

    /* dup2 and fcntl */
    int fd2 = dup2(fd, 20);
    CHECK(fd2 == 20);
    CHECK(lseek(fd, 7, SEEK_SET) == 7 && lseek(fd2, 0, SEEK_CUR) == 7);
    CHECK(fcntl(fd2, F_GETFD) == 0);
    CHECK(fcntl(fd2, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd2, F_GETFD) == FD_CLOEXEC);
    CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
    int fd3 = fcntl(fd, F_DUPFD, 30);
    CHECK(fd3 == 30);
    close(fd3);
    close(fd2);
    close(fd);
    printf("dup2/fcntl ok\n");

    /* more entries: files, a subdirectory, a link, a symlink */
    for (int i = 0; i < 12; i++) {
        char name[64];
        snprintf(name, sizeof name, "file-with-a-longish-name-%02d.txt", i);
        int f = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CHECK(f >= 0);
        CHECK(dprintf(f, "file %d\n", i) > 0);
        close(f);
    }
    CHECK(mkdir("sub", 0755) == 0);
    CHECK(link("data.bin", "hard.bin") == 0);
    CHECK(symlink("data.bin", "soft.lnk") == 0);
    char target[64];
    ssize_t tl = readlink("soft.lnk", target, sizeof target);
    CHECK(tl == 8);
    target[tl] = 0;
    printf("readlink soft.lnk -> %s\n", target);
    CHECK(lstat("soft.lnk", &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(stat("soft.lnk", &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 2 && st.st_size == 1234);
    CHECK(rename("file-with-a-longish-name-11.txt", "sub/moved.txt") == 0);
    list_raw(".");
    list_readdir("sub");

    /* errors come back as errno values */
    errno = 0;
    CHECK(open("does-not-exist", O_RDONLY) == -1 && errno == ENOENT);
    CHECK(mkdir("sub", 0755) == -1 && errno == EEXIST);
    CHECK(rmdir("sub") == -1 && errno == ENOTEMPTY);
    CHECK(read(-1, got, 1) == -1 && errno == EBADF);
    printf("errno values ok\n");

    /* openat relative to a directory fd */
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    int f = openat(dfd, "moved.txt", O_RDONLY);
    CHECK(f >= 0);
    char line[32] = {0};
    CHECK(read(f, line, sizeof line - 1) > 0);
    printf("openat read: %s", line);
    close(f);
    CHECK(unlinkat(dfd, "moved.txt", 0) == 0);
    close(dfd);

    /* pipe */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "through a pipe\n", 15) == 15);
    close(p[1]);
    memset(line, 0, sizeof line);
    CHECK(read(p[0], line, sizeof line) == 15);
    CHECK(read(p[0], got, 1) == 0);
    close(p[0]);
    printf("pipe: %s", line);

    /* clean up, then the directory must be gone */
    DIR *d = opendir(".");
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "sub") != 0)
            CHECK(unlink(e->d_name) == 0);
    closedir(d);
    CHECK(rmdir("sub") == 0);
    CHECK(chdir("..") == 0);
    CHECK(rmdir(dir) == 0);
    CHECK(access(dir, F_OK) == -1 && errno == ENOENT);
    printf("cleanup ok\n");

    /* stdin to stdout, upper-cased, with a byte count (stdio flushed first to keep the order) */
    fflush(stdout);
    char in[512];
    ssize_t r;
    long total = 0;
    while ((r = read(0, in, sizeof in)) > 0) {
        for (ssize_t i = 0; i < r; i++)
            if (in[i] >= 'a' && in[i] <= 'z')
                in[i] -= 32;
        CHECK(write(1, in, r) == r);
        total += r;
    }
    CHECK(r == 0);
    printf("stdin: %ld bytes\n", total);
    return 0;
}
