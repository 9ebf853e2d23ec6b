/*
 * A guest that keeps generating code, as a JIT of its own would: pages of fresh little functions, each run
 * once and unmapped, first on one thread (600,000 functions: several times what fills a slice of the
 * emulator's code buffer), then on four threads at once, then on one thread while another spins in a loop
 * that makes no system call (an emulator must not let it hold on to what was dropped meanwhile: it never
 * leaves generated code by itself). Every function must return its own value, and
 * what the emulator translated from unmapped code must be given back: the peak memory (VmHWM of
 * /proc/self/status, the emulator's own under an emulator) has to stay far below what keeping the
 * dropped blocks or every written slice of the code buffer would reach.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "testsuite/guest/check.h"
#include "testsuite/guest/peak_memory.h"

#define PAGES 6000
#define FUNCS_PER_PAGE 100
#define THREADS 4
#define THREAD_PAGES 500
#define PEAK_LIMIT_KB (160 * 1024)

/* One mapping of fresh functions `mov eax, base + k; ret`, each run once: their sum. */
static long run_fresh_page(long base)
{
    uint8_t *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    for (int k = 0; k < FUNCS_PER_PAGE; k++) {
        int32_t v = (int32_t)(base + k);
        p[k * 16] = 0xb8;
        memcpy(p + k * 16 + 1, &v, sizeof(v));
        p[k * 16 + 5] = 0xc3;
    }
    long sum = 0;
    for (int k = 0; k < FUNCS_PER_PAGE; k++) {
        sum += ((int (*)(void))(void *)(p + k * 16))();
    }
    CHECK(munmap(p, 2 * 4096) == 0);
    return sum;
}

static atomic_int spinner_started, spinner_stop;

static void *spinner(void *arg)
{
    (void)arg;
    long spins = 0;
    while (!atomic_load_explicit(&spinner_stop, memory_order_relaxed)) {
        if (++spins == 1) {
            atomic_store(&spinner_started, 1);
        }
    }
    return (void *)(intptr_t)spins;
}

static void *worker(void *arg)
{
    long id = (intptr_t)arg, sum = 0;
    for (long i = 0; i < THREAD_PAGES; i++) {
        sum += run_fresh_page(id * 1000000 + i * 3);
    }
    return (void *)(intptr_t)sum;
}

int main(void)
{
    long sum = 0;
    for (long i = 0; i < PAGES; i++) {
        sum += run_fresh_page(i * 7);
    }
    printf("one thread: %d functions, sum %ld\n", PAGES * FUNCS_PER_PAGE, sum);

    pthread_t t[THREADS];
    long total = 0;
    for (long i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *r;
        CHECK(pthread_join(t[i], &r) == 0);
        total += (intptr_t)r;
    }
    printf("%d threads: %d functions, sum %ld\n", THREADS, THREADS * THREAD_PAGES * FUNCS_PER_PAGE, total);

    pthread_t spin;
    CHECK(pthread_create(&spin, NULL, spinner, NULL) == 0);
    while (!atomic_load(&spinner_started)) {
        sched_yield();
    }
    sum = 0;
    for (long i = 0; i < PAGES; i++) {
        sum += run_fresh_page(i * 5);
    }
    atomic_store(&spinner_stop, 1);
    void *spun;
    CHECK(pthread_join(spin, &spun) == 0);
    printf("beside a spinning thread: %d functions, sum %ld, spun %s\n", PAGES * FUNCS_PER_PAGE, sum,
           spun ? "yes" : "no");

    report_peak_memory(PEAK_LIMIT_KB);
    return 0;
}
