/*
 * A persistent-mode target for the fork server's edge cases (afl_protocol_test): fuzz_one(path) reads one
 * input and, by its first four bytes, returns (anything else), crashes ("PERS"), hangs ("HANG"), exits the
 * program from inside the run ("EXIT", status 7), forks a child that exits ("FORK"; it crashes if that
 * child finds one of afl-fuzz's pipes open) or runs a thread
 * ("THRD") before returning. main calls it once.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int spin;
static bool fifo_at_start[256];   /* pipes the program was given (its parent's, ember's 198/199) */

static bool is_fifo(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void *thread_main(void *arg)
{
    return arg;
}

__attribute__((noinline)) int fuzz_one(const char *path)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 4) {
        return 0;
    }
    if (!memcmp(buf, "PERS", 4)) {
        abort();
    }
    if (!memcmp(buf, "HANG", 4)) {
        for (;;) {
            spin++;
        }
    }
    if (!memcmp(buf, "EXIT", 4)) {
        exit(7);
    }
    if (!memcmp(buf, "FORK", 4)) {
        pid_t p = fork();
        if (p == 0) {
            /* The child must hold no copy of afl-fuzz's pipes (ember makes them above 199 for a run). */
            for (int i = 198; i < 256; i++) {
                if (is_fifo(i) && !fifo_at_start[i]) {
                    _exit(99);
                }
            }
            _exit(3);
        }
        int st = 0;
        waitpid(p, &st, 0);
        if (WEXITSTATUS(st) == 99) {
            abort();   /* seen by the test as a crash instead of a stop */
        }
        return WEXITSTATUS(st);
    }
    if (!memcmp(buf, "THRD", 4)) {
        pthread_t t;
        void *r = NULL;
        if (pthread_create(&t, NULL, thread_main, buf) == 0) {
            pthread_join(t, &r);
        }
        return r == buf;
    }
    return (int)n;
}

int main(int argc, char **argv)
{
    for (int i = 198; i < 256; i++) {
        fifo_at_start[i] = is_fifo(i);
    }
    return argc > 1 && fuzz_one(argv[1]) < 0;
}
