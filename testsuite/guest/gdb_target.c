/*
 * The program the gdb tests debug (testsuite/gdb_test.sh): a function to step into, a global to watch, known
 * vector register values, with "threads" three threads that meet in one function, with "stepret" a loop
 * calling far_step. Built with -O0 -g so that lines and variables are what the source says. Exits with 3.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

volatile int watched;
static pthread_barrier_t barrier;

__attribute__((noinline)) int square(int x)
{
    int r = x * x;
    return r;
}

/* Called right after xmm1 was loaded with 1, 2, 3, 4 (the break point for "p $xmm1"). */
__attribute__((noinline)) void vectors_done(void)
{
    __asm__ volatile("" ::: "memory");
}

static void vectors(void)
{
    static const int v[4] = {1, 2, 3, 4};
    __asm__ volatile("movdqu %0, %%xmm1" : : "m"(v) : "xmm1");
    vectors_done();
}

__attribute__((noinline)) void in_thread(int id)
{
    __asm__ volatile("" : : "r"(id) : "memory");
}

static void *worker(void *arg)
{
    pthread_barrier_wait(&barrier);
    in_thread((int)(long)arg);
    return NULL;
}

int main(int argc, char **argv)
{
    int local = 41;
    local = square(local);
    printf("square: %d\n", local);
    vectors();
    watched = 7;
    watched = 8;
    if (argc > 1 && strcmp(argv[1], "threads") == 0) {
        pthread_t t[2];
        pthread_barrier_init(&barrier, NULL, 3);
        for (long i = 0; i < 2; i++) {
            pthread_create(&t[i], NULL, worker, (void *)(i + 1));
        }
        pthread_barrier_wait(&barrier);
        for (int i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
        }
        printf("threads done\n");
    }
    if (argc > 1 && strcmp(argv[1], "stepret") == 0) {
        int far_step(int x);
        int sum = 0;
        for (int i = 0; i < 100; i++) {
            sum += far_step(i);
        }
        printf("sum: %d\n", sum);
    }
    fflush(stdout);
    return 3;
}

/* On a page of its own: a debugger's breakpoint here drops this page's translations only, not its caller's,
   so a step over its return finds the return address in ember's jump cache (gdb_test.sh stepret). New code
   goes below main: the gdb scripts expect main's lines where they are. */
__attribute__((noinline, aligned(4096))) int far_step(int x)
{
    return x * 3 + 1;
}
