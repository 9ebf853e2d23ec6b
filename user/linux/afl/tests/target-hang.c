/* Hangs (a busy loop) when the input starts with 'H', crashes (SIGSEGV) on 'C', else exits 0. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char c = 0;
    int fd = argc > 1 ? open(argv[1], O_RDONLY) : 0;
    if (fd < 0 || read(fd, &c, 1) < 0) {
        return 1;
    }
    if (c == 'H') {
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    if (c == 'C') {
        volatile int *volatile bad = (int *)16;   /* an address the compiler cannot see through */
        *bad = 1;
    }
    return 0;
}
