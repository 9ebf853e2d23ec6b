/*
 * The vDSO: the guest gets one (AT_SYSINFO_EHDR, an ELF image) as natively, and what glibc reads through it
 * agrees with the system calls: the monotonic and real-time clocks (clock_gettime, gettimeofday, time),
 * clock_getres, and the CPU number (sched_getcpu, the vDSO's getcpu: RDPID or LSL of the per-CPU
 * segment). Each line prints what holds, not the values, which differ between runs.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double seconds(const struct timespec *t) { return (double)t->tv_sec + t->tv_nsec / 1e9; }

static const char *yes(int cond) { return cond ? "yes" : "no"; }

int main(void)
{
    const unsigned char *vdso = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
    printf("vDSO: %s, an ELF image: %s\n", yes(vdso != NULL), yes(vdso && memcmp(vdso, ELFMAG, SELFMAG) == 0));

    const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW};
    for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
        struct timespec a, b, c;
        clock_gettime(clocks[i], &a);
        syscall(SYS_clock_gettime, clocks[i], &b);
        clock_gettime(clocks[i], &c);
        int ordered = seconds(&a) <= seconds(&b) && seconds(&b) <= seconds(&c) && seconds(&c) - seconds(&a) < 1;
        struct timespec res;
        printf("clock %d: between the system call's readings: %s, resolution at most 1 ms: %s\n", (int)clocks[i],
               yes(ordered), yes(clock_getres(clocks[i], &res) == 0 && res.tv_sec == 0 && res.tv_nsec <= 1000000));
    }
    long backwards = 0;
    struct timespec last = {0, 0};
    for (int i = 0; i < 100000; i++) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        backwards += seconds(&now) < seconds(&last);
        last = now;
    }
    printf("100000 monotonic readings never go back: %s\n", yes(backwards == 0));

    struct timeval tv;
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    /* time() reads the clock as of the last tick: right after a second begins it may still say the one
       before. */
    printf("gettimeofday and time agree: %s\n", yes(t - tv.tv_sec >= -1 && t - tv.tv_sec <= 1));

    int cpu = sched_getcpu();
    unsigned sys_cpu = 0;
    syscall(SYS_getcpu, &sys_cpu, NULL, NULL);
    long n = sysconf(_SC_NPROCESSORS_CONF);
    printf("sched_getcpu: a CPU of this machine: %s, the system call's too: %s\n", yes(cpu >= 0 && cpu < n),
           yes(sys_cpu < (unsigned)n));
    return 0;
}
