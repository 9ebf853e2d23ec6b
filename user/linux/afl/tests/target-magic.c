/*
 * A fuzzing target with a bug behind a 4-byte comparison: it aborts when the input starts with "EMBR".
 * Built without any instrumentation; ember-x86_64 provides the coverage. Input: the file named by argv[1],
 * or stdin.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Not inlined, so the compare stays one 32-bit CMP with an immediate, as in a real parser. */
__attribute__((noinline)) static int check(const unsigned char *buf, size_t n)
{
    uint32_t magic;
    if (n < 4) {
        return 0;
    }
    memcpy(&magic, buf, 4);
    if (magic == 0x52424d45u) {   /* "EMBR" */
        abort();
    }
    return buf[0] == 'A' ? 1 : buf[0] == 'B' ? 2 : 3;
}

int main(int argc, char **argv)
{
    unsigned char buf[256];
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0) {
        return 1;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
        return 1;
    }
    int r = check(buf, (size_t)n);
    printf("%d\n", r);
    return 0;
}
