/*
 * A target for persistent mode: fuzz_one(path) reads and checks one input; main calls it once. Under
 * AFL_QEMU_PERSISTENT_ADDR=<fuzz_one> ember loops over fuzz_one without forking. Without arguments it
 * reads stdin and calls fuzz_buf(buf, len), which a persistent hook can feed from shared memory.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int total;   /* state that a snapshot restores */

/* The check alone, for AFL_QEMU_PERSISTENT_HOOK (hook-persist.c puts the test case into buf). */
__attribute__((noinline)) int fuzz_buf(const unsigned char *buf, size_t n)
{
    total++;
    if (n >= 4 && buf[0] == 'B' && buf[1] == 'U' && buf[2] == 'F' && buf[3] == '!') {
        abort();
    }
    return (int)n;
}

__attribute__((noinline)) int fuzz_one(const char *path)
{
    unsigned char buf[64];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    total++;
    if (n >= 4 && buf[0] == 'P' && buf[1] == 'E' && buf[2] == 'R' && buf[3] == 'S') {
        abort();
    }
    return (int)n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {   /* stdin through fuzz_buf */
        unsigned char buf[64];
        ssize_t n = read(0, buf, sizeof(buf));
        return fuzz_buf(buf, n > 0 ? (size_t)n : 0) < 0;
    }
    return fuzz_one(argv[1]) < 0 ? 1 : 0;
}
