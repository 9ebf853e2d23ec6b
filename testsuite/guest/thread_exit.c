/*
 * How a multithreaded process ends, selected by argv[1]:
 *   exit-from-thread   a second thread calls exit(7) while the others wait forever: status 7;
 *   main-thread-exits  main calls pthread_exit; the process lives on until the last thread returns
 *                      (status 0), and that thread's output appears;
 *   signal-in-thread   a second thread dies of SIGSEGV: the whole process is killed by SIGSEGV.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile unsigned long bad_addr = 24;

static void *wait_forever(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    for (;;)
        pthread_cond_wait(&never, &m);
    return NULL;
}

static void *exiter(void *arg)
{
    (void)arg;
    usleep(10000);
    printf("thread calls exit(7)\n");
    exit(7);
}

static void *survivor(void *arg)
{
    (void)arg;
    usleep(20000);
    printf("last thread still running after main's pthread_exit\n");
    return NULL;
}

static void *faulter(void *arg)
{
    (void)arg;
    usleep(10000);
    printf("thread writes to an unmapped address\n");
    fflush(stdout);
    *(volatile int *)bad_addr = 1;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t;
    if (strcmp(how, "main-thread-exits") == 0) {
        pthread_create(&t, NULL, survivor, NULL);
        printf("main thread calls pthread_exit\n");
        pthread_exit(NULL);
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&t, NULL, wait_forever, NULL);
    if (strcmp(how, "exit-from-thread") == 0) {
        pthread_create(&t, NULL, exiter, NULL);
        wait_forever(NULL);
    } else if (strcmp(how, "signal-in-thread") == 0) {
        pthread_create(&t, NULL, faulter, NULL);
        wait_forever(NULL);
    }
    fprintf(stderr, "usage: thread_exit exit-from-thread|main-thread-exits|signal-in-thread\n");
    return 2;
}
