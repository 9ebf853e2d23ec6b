/*
 * A guest for ember_strace_test, run natively and under ember: the output must match. It makes an
 * unknown syscall twice and looks at itself through /proc/self (readlink, stat, open of exe).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 2; i++) {
        long r = syscall(999, 1, 2, 3);
        printf("syscall 999: %ld %s\n", r, strerrorname_np(errno));
    }

    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return 1;
    exe[n] = 0;
    printf("exe: %s\n", exe);

    struct stat by_proc, by_path, by_fd;
    if (stat("/proc/self/exe", &by_proc) != 0 || stat(exe, &by_path) != 0)
        return 2;
    printf("stat /proc/self/exe is the program: %d\n", by_proc.st_ino == by_path.st_ino);
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &by_fd) != 0)
        return 3;
    printf("open /proc/self/exe is the program: %d\n", by_fd.st_ino == by_path.st_ino);
    printf("access: %d\n", access("/proc/self/exe", X_OK));
    close(fd);
    return 0;
}
