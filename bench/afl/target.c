/*
 * The AFL benchmark's target: a small record parser of the kind people fuzz. It reads one input (the file
 * named by argv[1]) and walks its records: a header "BNCH", then records of a tag byte, a length byte and
 * that many bytes, each checked in its own way. Small work per input, like most fuzz targets, so a run's
 * cost is mostly the fuzzing machinery's (fork, map, start-up): what the benchmark compares.
 *
 * The same source is built three ways by bench/afl/run.sh: with afl-cc (AFL's own instrumentation and
 * fork server), and with plain gcc -O2, dynamic and static (no instrumentation: ember provides it).
 * parse_file() is the persistent-mode loop function (AFL_QEMU_PERSISTENT_ADDR).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct stats {
    unsigned records, words, sum, bad;
};

static unsigned checksum(const unsigned char *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

static void record_text(struct stats *st, const unsigned char *p, size_t n)
{
    int in_word = 0;
    for (size_t i = 0; i < n; i++) {
        int alpha = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z');
        if (alpha && !in_word) {
            st->words++;
        }
        in_word = alpha;
    }
}

static void record_number(struct stats *st, const unsigned char *p, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            st->bad++;
            return;
        }
        v = v * 10 + (p[i] - '0');
    }
    st->sum += v;
}

static void record_blob(struct stats *st, const unsigned char *p, size_t n)
{
    if (n >= 4 && checksum(p, n - 4) % 251 == p[n - 1]) {
        st->sum ^= 0x5a5a;
    } else if (n > 8 && p[0] == p[n - 1]) {
        st->bad += 2;
    }
}

__attribute__((noinline)) int parse_buf(const unsigned char *buf, size_t n, struct stats *st)
{
    if (n < 4 || memcmp(buf, "BNCH", 4) != 0) {
        return -1;
    }
    for (size_t i = 4; i + 2 <= n;) {
        unsigned char tag = buf[i], len = buf[i + 1];
        const unsigned char *body = buf + i + 2;
        if (i + 2 + len > n) {
            st->bad++;
            break;
        }
        switch (tag) {
        case 'T': record_text(st, body, len); break;
        case 'N': record_number(st, body, len); break;
        case 'B': record_blob(st, body, len); break;
        case 'E': return (int)st->records;
        default: st->bad++; break;
        }
        st->records++;
        i += 2 + (size_t)len;
    }
    return (int)st->records;
}

/* One input, start to end: the persistent-mode loop function. */
__attribute__((noinline)) int parse_file(const char *path)
{
    unsigned char buf[4096];
    struct stats st = {0, 0, 0, 0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n <= 0) {
        return -1;
    }
    int r = parse_buf(buf, (size_t)n, &st);
    return r < 0 ? r : (int)(st.words + st.sum + st.bad) & 0xff;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    return parse_file(argv[1]) < 0;
}
