/*
 * POSIX threads: N workers adding with atomics and under a mutex, __thread variables private to each
 * thread (initialized and zero-initialized TLS), pthread_join return values, detached threads that
 * report through a condition variable, pthread_once, a barrier, a thread calling exit-free
 * pthread_exit, and gettid/getpid relations. Everything printed is a count or a sum, never an order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 8
#define ITERS 20000

#include "testsuite/guest/check.h"

static atomic_long atomic_sum;
static long locked_sum;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread long tls_counter = 1000; /* .tdata */
static __thread char tls_buf[256];       /* .tbss */
static __thread int tls_id;

static atomic_int distinct_tids;
static pid_t main_tid;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    tls_id = id;
    CHECK(tls_counter == 1000 && tls_buf[255] == 0);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (tid != main_tid && getpid() != tid)
        atomic_fetch_add(&distinct_tids, 1);
    for (int i = 1; i <= ITERS; i++) {
        atomic_fetch_add(&atomic_sum, i);
        pthread_mutex_lock(&lock);
        locked_sum += i;
        pthread_mutex_unlock(&lock);
        tls_counter++;
        tls_buf[i % 256] = (char)id;
    }
    /* Another thread's writes never show up in our TLS. */
    int mine = 1;
    for (int i = 0; i < 256; i++)
        mine &= tls_buf[i] == (char)id;
    CHECK(mine && tls_id == id);
    return (void *)(intptr_t)(tls_counter - 1000 + id);
}

/* Detached threads: each adds to a total and signals; main waits on the condition. */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done_count;
static long detached_total;

static void *detached(void *arg)
{
    long v = (long)(intptr_t)arg;
    pthread_mutex_lock(&done_lock);
    detached_total += v * v;
    done_count++;
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

/* A producer/consumer queue of one slot through two condition variables. */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_full = PTHREAD_COND_INITIALIZER, q_empty = PTHREAD_COND_INITIALIZER;
static int q_has, q_val;

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 500; i++) {
        pthread_mutex_lock(&q_lock);
        while (q_has)
            pthread_cond_wait(&q_empty, &q_lock);
        q_val = i;
        q_has = 1;
        pthread_cond_signal(&q_full);
        pthread_mutex_unlock(&q_lock);
    }
    return NULL;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int once_runs;
static void once_fn(void)
{
    atomic_fetch_add(&once_runs, 1);
}

static pthread_barrier_t barrier;
static atomic_int serial_threads;
static void *at_barrier(void *arg)
{
    (void)arg;
    pthread_once(&once, once_fn);
    if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD)
        atomic_fetch_add(&serial_threads, 1);
    pthread_exit((void *)42);
}

/* pthread_kill reaches the chosen thread; a process-directed signal goes to a thread that does not
 * block it. */
static volatile pid_t handled_by;
static volatile int target_ready, target_done;
static pid_t target_tid;

static void on_usr1(int sig)
{
    (void)sig;
    handled_by = (pid_t)syscall(SYS_gettid);
}

static void *signal_target(void *arg)
{
    (void)arg;
    target_tid = (pid_t)syscall(SYS_gettid);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    target_ready = 1;
    while (!target_done)
        usleep(100);
    return NULL;
}

static void test_thread_signals(void)
{
    signal(SIGUSR1, on_usr1);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, signal_target, NULL) == 0);
    while (!target_ready)
        usleep(100);
    handled_by = 0;
    CHECK(pthread_kill(t, SIGUSR1) == 0);
    while (!handled_by)
        usleep(100);
    printf("pthread_kill: handled by the target thread: %d\n", handled_by == target_tid);

    /* main blocks SIGUSR1, so a signal sent to the process must be taken by the other thread */
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
    handled_by = 0;
    kill(getpid(), SIGUSR1);
    while (!handled_by)
        usleep(100);
    printf("kill(process): handled by the unblocked thread: %d\n", handled_by == target_tid);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    target_done = 1;
    pthread_join(t, NULL);
}

/* fork from a multithreaded process: the child has only the forking thread and can still use
 * malloc and stdio. */
static void *idle_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&done_lock);
    while (done_count < 1000)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

static void test_fork_with_threads(void)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, idle_thread, NULL) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char *p = malloc(1000);
        snprintf(p, 1000, "child of a threaded process: malloc and stdio work\n");
        fputs(p, stdout);
        fflush(stdout);
        _exit(9);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    pthread_mutex_lock(&done_lock);
    done_count = 1000;
    pthread_cond_broadcast(&done_cond);
    pthread_mutex_unlock(&done_lock);
    pthread_join(t, NULL);
}

int main(void)
{
    main_tid = (pid_t)syscall(SYS_gettid);
    printf("main thread: gettid == getpid %d\n", main_tid == getpid());

    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
    long ret_sum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        CHECK(pthread_join(t[i], &r) == 0);
        ret_sum += (long)(intptr_t)r;
    }
    long expect = (long)NTHREADS * ITERS * (ITERS + 1) / 2;
    printf("atomic sum %ld (%s)\n", (long)atomic_sum, atomic_sum == expect ? "right" : "WRONG");
    printf("mutex sum %ld (%s)\n", locked_sum, locked_sum == expect ? "right" : "WRONG");
    printf("join values sum %ld\n", ret_sum);
    printf("threads with their own tid: %d\n", (int)distinct_tids);
    printf("main's TLS untouched: %ld\n", tls_counter);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (long i = 1; i <= 16; i++) {
        pthread_t d;
        CHECK(pthread_create(&d, &attr, detached, (void *)(intptr_t)i) == 0);
    }
    pthread_mutex_lock(&done_lock);
    while (done_count < 16)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
    printf("detached threads: %d done, total %ld\n", done_count, detached_total);

    pthread_t p;
    CHECK(pthread_create(&p, NULL, producer, NULL) == 0);
    long consumed = 0;
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&q_lock);
        while (!q_has)
            pthread_cond_wait(&q_full, &q_lock);
        consumed += q_val;
        q_has = 0;
        pthread_cond_signal(&q_empty);
        pthread_mutex_unlock(&q_lock);
    }
    pthread_join(p, NULL);
    printf("producer/consumer total %ld\n", consumed);

    CHECK(pthread_barrier_init(&barrier, NULL, 4) == 0);
    pthread_t b[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&b[i], NULL, at_barrier, NULL) == 0);
    int exits42 = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(b[i], &r);
        exits42 += r == (void *)42;
    }
    printf("barrier: %d serial thread, once ran %d, pthread_exit values %d\n", (int)serial_threads,
           (int)once_runs, exits42);

    /* A large thread stack and joining a thread that already ended. */
    pthread_attr_t big;
    pthread_attr_init(&big);
    pthread_attr_setstacksize(&big, 16 << 20);
    pthread_t s;
    CHECK(pthread_create(&s, &big, worker, (void *)(intptr_t)99) == 0);
    usleep(1000);
    void *r;
    CHECK(pthread_join(s, &r) == 0);
    printf("16 MiB stack thread returned %ld\n", (long)(intptr_t)r);

    test_thread_signals();
    test_fork_with_threads();
    return 0;
}
