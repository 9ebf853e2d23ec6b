/*
 * Many short-lived threads, one after another and in overlapping batches of detached ones, each running
 * code of its own (written into a fresh executable page, so each one translates something). What an
 * ended thread held must be given back: the process's peak memory (VmHWM of /proc/self/status, which
 * under an emulator is the emulator's own) has to stay far below what keeping a few hundred KB per
 * ended thread would reach. The output is sums and that verdict, never an order.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "testsuite/guest/check.h"
#include "testsuite/guest/peak_memory.h"

#define JOINED_THREADS 2000
#define DETACHED_BATCHES 50
#define DETACHED_PER_BATCH 8
#define PEAK_LIMIT_KB (64 * 1024)

/* mov eax, imm32; ret: a function no other thread has run. */
static long run_own_code(long value)
{
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    int32_t imm = (int32_t)value;
    page[0] = 0xb8;
    memcpy(page + 1, &imm, sizeof(imm));
    page[5] = 0xc3;
    long r = ((int (*)(void))(void *)page)();
    CHECK(munmap(page, 4096) == 0);
    return r;
}

static void *joined(void *arg)
{
    return (void *)(intptr_t)run_own_code((intptr_t)arg);
}

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done;
static atomic_long detached_sum;

static void *detached(void *arg)
{
    atomic_fetch_add(&detached_sum, run_own_code((intptr_t)arg));
    pthread_mutex_lock(&done_lock);
    done++;
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

int main(void)
{
    long sum = 0;
    for (long i = 0; i < JOINED_THREADS; i++) {
        pthread_t t;
        void *r;
        CHECK(pthread_create(&t, NULL, joined, (void *)(intptr_t)i) == 0);
        CHECK(pthread_join(t, &r) == 0);
        sum += (intptr_t)r;
    }
    printf("joined threads: %d, sum %ld\n", JOINED_THREADS, sum);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int b = 0; b < DETACHED_BATCHES; b++) {
        for (int i = 0; i < DETACHED_PER_BATCH; i++) {
            pthread_t t;
            CHECK(pthread_create(&t, &attr, detached, (void *)(intptr_t)(b * DETACHED_PER_BATCH + i)) == 0);
        }
        pthread_mutex_lock(&done_lock);
        while (done < (b + 1) * DETACHED_PER_BATCH) {
            pthread_cond_wait(&done_cond, &done_lock);
        }
        pthread_mutex_unlock(&done_lock);
    }
    printf("detached threads: %d, sum %ld\n", DETACHED_BATCHES * DETACHED_PER_BATCH, atomic_load(&detached_sum));

    report_peak_memory(PEAK_LIMIT_KB);
    return 0;
}
