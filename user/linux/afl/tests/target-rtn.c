/*
 * A target whose bugs sit behind libc comparison routines, which instruction-level CMPLOG and CompCov do
 * not see (the compare runs inside libc): it aborts when the input is "magic-string-here" (strcmp), or
 * starts with "EMBER-MEMCMP-KEY-0123" (memcmp). argv[2] picks the routine: strcmp or memcmp. Built with
 * -fno-builtin so that the calls stay calls.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char buf[256];
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : -1;
    if (fd < 0 || argc < 3) {
        return 1;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        return 1;
    }
    buf[n] = '\0';
    if (strcmp(argv[2], "strcmp") == 0) {
        if (strcmp(buf, "magic-string-here") == 0) {
            abort();
        }
    } else if (n >= 21 && memcmp(buf, "EMBER-MEMCMP-KEY-0123", 21) == 0) {
        abort();
    }
    printf("%c\n", buf[0]);
    return 0;
}
