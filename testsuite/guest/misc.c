/*
 * Odds and ends a runtime relies on: uname, time (clock_gettime monotonic/realtime, nanosleep,
 * gettimeofday), getrandom, getcwd/chdir, umask, rlimits, identity calls, sysinfo-free sysconf values,
 * environment functions, and arch_prctl(ARCH_GET_FS) agreeing with the TLS pointer.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void check(const char *what, int ok)
{
    printf("%-44s %s\n", what, ok ? "ok" : "WRONG");
}

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void)
{
    struct utsname u;
    check("uname", uname(&u) == 0);
    printf("machine %s, sysname %s\n", u.machine, u.sysname);

    double m0 = now(CLOCK_MONOTONIC), r0 = now(CLOCK_REALTIME);
    struct timespec ts = {0, 20 * 1000 * 1000};
    check("nanosleep 20 ms", nanosleep(&ts, NULL) == 0);
    double m1 = now(CLOCK_MONOTONIC);
    check("monotonic advanced >= 20 ms", m1 - m0 >= 0.019);
    check("realtime is after 2020", r0 > 1577836800.0);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    check("gettimeofday agrees with realtime", tv.tv_sec - (long)r0 >= 0 && tv.tv_sec - (long)r0 < 60);
    check("time() agrees", time(NULL) - (long)r0 >= 0 && time(NULL) - (long)r0 < 60);
    check("CLOCK_PROCESS_CPUTIME_ID works", now(CLOCK_PROCESS_CPUTIME_ID) > 0);
    struct timespec res;
    check("clock_getres monotonic", clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0);

    unsigned char rnd[32] = {0};
    check("getrandom 32 bytes", getrandom(rnd, sizeof rnd, 0) == 32);
    int nz = 0;
    for (int i = 0; i < 32; i++)
        nz |= rnd[i];
    check("random bytes not all zero", nz);

    char cwd[PATH_MAX];
    check("getcwd", getcwd(cwd, sizeof cwd) != NULL);
    check("mkdir + chdir + getcwd", mkdir("dir", 0700) == 0 && chdir("dir") == 0);
    char cwd2[PATH_MAX];
    getcwd(cwd2, sizeof cwd2);
    check("cwd moved into dir", strncmp(cwd, cwd2, strlen(cwd)) == 0 && strcmp(cwd2 + strlen(cwd), "/dir") == 0);
    check("chdir back, rmdir", chdir("..") == 0 && rmdir("dir") == 0);

    mode_t old = umask(077);
    printf("umask was %03o\n", old);
    int fd = open("masked", O_CREAT | O_WRONLY, 0666);
    struct stat st;
    fstat(fd, &st);
    printf("file created with 0666 under 077: %03o\n", st.st_mode & 0777);
    close(fd);
    unlink("masked");
    umask(old);

    struct rlimit rl;
    check("getrlimit NOFILE", getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 0);
    check("getrlimit STACK", getrlimit(RLIMIT_STACK, &rl) == 0);
    check("getuid/geteuid consistent", getuid() == geteuid() && getgid() == getegid());
    check("getppid != getpid", getppid() != getpid());
    check("gettid == getpid in main", syscall(SYS_gettid) == getpid());
    printf("sysconf: pagesize %ld, clk_tck %ld\n", sysconf(_SC_PAGESIZE), sysconf(_SC_CLK_TCK));

    check("setenv/getenv", setenv("EMBER_TEST_VAR", "value", 1) == 0 &&
                               strcmp(getenv("EMBER_TEST_VAR"), "value") == 0);
    check("unsetenv", unsetenv("EMBER_TEST_VAR") == 0 && getenv("EMBER_TEST_VAR") == NULL);
    printf("TZ=%s LC_ALL=%s\n", getenv("TZ") ? getenv("TZ") : "(unset)",
           getenv("LC_ALL") ? getenv("LC_ALL") : "(unset)");

    /* FS base is the thread pointer: %fs:0 holds its own address on x86-64 glibc. */
    unsigned long fsbase = 0, self;
    check("arch_prctl(ARCH_GET_FS)", syscall(SYS_arch_prctl, ARCH_GET_FS, &fsbase) == 0);
    asm("mov %%fs:0, %0" : "=r"(self));
    check("%fs:0 == FS base", self == fsbase && fsbase != 0);

    errno = 0;
    check("unknown syscall -> ENOSYS", syscall(1000) == -1 && errno == ENOSYS);

    char host[256];
    check("gethostname", gethostname(host, sizeof host) == 0);
    struct tm tm;
    time_t fixed = 1700000000;
    gmtime_r(&fixed, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a", &tm);
    printf("strftime: %s\n", buf);
    return 0;
}
