/* The threads workload: THREADS pthreads share the integers 1..LIMIT (thread t takes t, t+THREADS, ...)
 * and sum their Collatz stopping times, integer and branch heavy work. Each thread also bumps a shared
 * atomic counter every 4096 numbers and adds its sum to a mutex-protected total at the end, so the
 * emulator's atomics and futexes are used too. The output does not depend on scheduling.
 *
 *   bench-threads THREADS LIMIT */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct ThreadsWork {
    long first, step, limit;
    uint64_t sum;
} ThreadsWork;

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t threads_total;
static long threads_progress;

static unsigned threads_collatz(uint64_t n)
{
    unsigned steps = 0;
    while (n != 1) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

static void *threads_main(void *arg)
{
    ThreadsWork *w = arg;
    uint64_t sum = 0;
    long done = 0;
    for (long n = w->first; n <= w->limit; n += w->step) {
        sum += threads_collatz((uint64_t)n);
        if (++done % 4096 == 0) {
            __atomic_fetch_add(&threads_progress, 4096, __ATOMIC_RELAXED);
        }
    }
    w->sum = sum;
    pthread_mutex_lock(&threads_lock);
    threads_total += sum;
    pthread_mutex_unlock(&threads_lock);
    return NULL;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    long limit = argc > 2 ? strtol(argv[2], NULL, 10) : 1000000;
    if (nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "bench-threads: THREADS must be 1..64\n");
        return 2;
    }
    pthread_t tid[64];
    ThreadsWork work[64];
    for (int t = 0; t < nthreads; t++) {
        work[t] = (ThreadsWork){ .first = t + 1, .step = nthreads, .limit = limit };
        if (pthread_create(&tid[t], NULL, threads_main, &work[t]) != 0) {
            fprintf(stderr, "bench-threads: pthread_create failed\n");
            return 1;
        }
    }
    for (int t = 0; t < nthreads; t++) {
        pthread_join(tid[t], NULL);
        printf("thread %d: %llu\n", t, (unsigned long long)work[t].sum);
    }
    printf("total: %llu (progress ticks %ld)\n", (unsigned long long)threads_total,
           __atomic_load_n(&threads_progress, __ATOMIC_RELAXED) / 4096);
    return 0;
}
