/* bench-gen-data: writes the benchmarks' inputs to stdout, the same bytes on every machine and every run
 * (a fixed-seed xorshift generator; nothing is downloaded).
 *
 *   bench-gen-data text BYTES     lines of words drawn with a skewed distribution from a fixed
 *                                 vocabulary, plus numbers: compresses about 3:1 like real text
 *   bench-gen-data lines BYTES    "key<TAB>number<TAB>words" records in random order, for sort
 *   bench-gen-data binary BYTES   uniformly random bytes, for the hash */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t gen_state = 0x9e3779b97f4a7c15ULL;

static uint64_t gen_next(void)
{
    gen_state ^= gen_state << 13;
    gen_state ^= gen_state >> 7;
    gen_state ^= gen_state << 17;
    return gen_state;
}

/* A word index skewed toward small indices (min of two draws), so that common words repeat the way
 * they do in prose and the compressor has something to find. */
static unsigned gen_word_index(unsigned n)
{
    unsigned a = (unsigned)(gen_next() % n), b = (unsigned)(gen_next() % n);
    return a < b ? a : b;
}

static const char *const gen_words[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be", "by",
    "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had",
    "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if",
    "more", "when", "will", "would", "who", "so", "no", "emulator", "translation", "block", "register",
    "instruction", "memory", "guest", "host", "backend", "interpreter", "compiler", "benchmark",
    "throughput", "latency", "cache", "branch", "predictor", "pipeline", "segment", "descriptor",
    "interrupt", "exception", "syscall", "thread", "signal", "process", "kernel", "page", "table",
    "mapping", "virtual", "physical", "address", "operand", "immediate", "displacement", "prefix",
    "opcode", "decoder", "encoder", "flags", "carry", "overflow", "parity", "zero", "sign", "adjust",
    "vector", "scalar", "double", "single", "precision", "rounding", "denormal", "infinity", "quiet",
};

#define GEN_NWORDS (sizeof(gen_words) / sizeof(gen_words[0]))

static void gen_text(long bytes)
{
    long out = 0;
    while (out < bytes) {
        int words = 6 + (int)(gen_next() % 10);
        for (int i = 0; i < words; i++) {
            const char *w = gen_words[gen_word_index(GEN_NWORDS)];
            out += printf(i ? " %s" : "%s", w);
            if (gen_next() % 16 == 0) {
                out += printf(" %u", (unsigned)(gen_next() % 100000));
            }
        }
        out += printf(".\n");
    }
}

static void gen_lines(long bytes)
{
    long out = 0;
    while (out < bytes) {
        char key[12];
        for (int i = 0; i < 10; i++) {
            key[i] = (char)('a' + gen_next() % 26);
        }
        key[10] = 0;
        out += printf("%s\t%u\t%s %s\n", key, (unsigned)(gen_next() % 1000000),
                      gen_words[gen_word_index(GEN_NWORDS)], gen_words[gen_word_index(GEN_NWORDS)]);
    }
}

static void gen_binary(long bytes)
{
    uint64_t buf[4096];
    while (bytes > 0) {
        for (size_t i = 0; i < 4096; i++) {
            buf[i] = gen_next();
        }
        size_t n = bytes < (long)sizeof(buf) ? (size_t)bytes : sizeof(buf);
        fwrite(buf, 1, n, stdout);
        bytes -= (long)n;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-gen-data text|lines|binary BYTES\n");
        return 2;
    }
    long bytes = strtol(argv[2], NULL, 0);
    if (strcmp(argv[1], "text") == 0) {
        gen_text(bytes);
    } else if (strcmp(argv[1], "lines") == 0) {
        gen_lines(bytes);
    } else if (strcmp(argv[1], "binary") == 0) {
        gen_binary(bytes);
    } else {
        fprintf(stderr, "bench-gen-data: unknown kind '%s'\n", argv[1]);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
