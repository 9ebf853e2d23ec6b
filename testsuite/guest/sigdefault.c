/*
 * Dies the way argv[1] says, with no handler installed, so the parent (compare.sh, i.e. bash) sees
 * the default action's wait status: abort -> SIGABRT, segv -> SIGSEGV, ud2 -> SIGILL, div0 -> SIGFPE,
 * int3 -> SIGTRAP, term -> SIGTERM from kill(), usr1 -> SIGUSR1 (terminate, no core), blocked-segv ->
 * SIGSEGV even though SIGSEGV is blocked (the kernel forces it), ignored -> SIGUSR1 ignored, exit 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An unmapped address the compiler cannot see through. */
static volatile unsigned long bad_addr = 8;

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "";
    printf("dying by %s\n", how);
    fflush(stdout);
    if (strcmp(how, "abort") == 0) {
        abort();
    } else if (strcmp(how, "segv") == 0) {
        *(volatile int *)bad_addr = 1;
    } else if (strcmp(how, "blocked-segv") == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGSEGV);
        sigprocmask(SIG_BLOCK, &s, NULL);
        *(volatile int *)bad_addr = 1;
    } else if (strcmp(how, "ud2") == 0) {
        asm volatile("ud2");
    } else if (strcmp(how, "div0") == 0) {
        asm volatile("xor %%ecx, %%ecx\n\tdiv %%ecx" ::: "rax", "rcx", "rdx");
    } else if (strcmp(how, "int3") == 0) {
        asm volatile("int3");
    } else if (strcmp(how, "term") == 0) {
        kill(getpid(), SIGTERM);
    } else if (strcmp(how, "usr1") == 0) {
        raise(SIGUSR1);
    } else if (strcmp(how, "ignored") == 0) {
        signal(SIGUSR1, SIG_IGN);
        raise(SIGUSR1);
        printf("survived an ignored SIGUSR1\n");
        return 0;
    }
    printf("still alive: wrong\n");
    return 1;
}
