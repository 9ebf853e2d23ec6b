/*
 * A threaded target: a second thread counts the input's bytes by kind while the main thread waits, so a
 * fork server child exits with two threads' worth of coverage (exit_group must not be reported before
 * the other thread is gone). Input: the file named by argv[1].
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static unsigned char buf[256];
static ssize_t len;
static int upper, lower, other;

static void *count(void *arg)
{
    (void)arg;
    for (ssize_t i = 0; i < len; i++) {
        if (buf[i] >= 'A' && buf[i] <= 'Z') {
            upper++;
        } else if (buf[i] >= 'a' && buf[i] <= 'z') {
            lower++;
        } else {
            other++;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0 || (len = read(fd, buf, sizeof(buf))) < 0) {
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, count, NULL) != 0 || pthread_join(t, NULL) != 0) {
        return 1;
    }
    printf("%d %d %d\n", upper, lower, other);
    return upper > 0 ? 3 : 0;
}
