/*
 * Test cases in shared memory (FS_OPT_SHDMEM_FUZZ): afl-fuzz then puts each test case into a shared
 * segment (__AFL_SHM_FUZZ_ID: a u32 length, then the bytes) instead of a file. A persistent hook
 * (afl-hook.c) takes it from there; so does a persistent run of a program that reads afl-fuzz's input file
 * (the `@@` of its command line): before each run, ember writes the test case into that file itself.
 *
 * Why: afl-fuzz writes a file test case by unlinking, creating, writing and closing it, a journalled
 * create and delete on most file systems (~30 us on ext4, measured) - a third of a persistent run's whole
 * cycle, all of it on the run's critical path. Rewriting the same file in place (pwrite, and ftruncate when
 * it shrinks) costs a few microseconds. The guest sees the very file it was given, with the right content
 * and size, whatever it does with it (stat, mmap, seek...).
 *
 * Only in persistent mode, as afl++'s own shared-memory test cases (__AFL_FUZZ_TESTCASE_BUF) go with its
 * persistent loop, and without a persistent hook; only for afl-fuzz's own input file (OUT_DIR/.cur_input):
 * other tools name theirs differently, and a file given with -f stays afl-fuzz's to write.
 * EMBER_AFL_FILE_INPUT=1 leaves the file to afl-fuzz in every case.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "user/linux/afl/afl.h"

#define AFL_TESTCASE_MAX (1u << 20)   /* afl's MAX_FILE: the segment's size after the length */

static const uint32_t *tc_len;
static const uint8_t *tc_buf;
static char *tc_path;   /* the input file ember writes, or NULL */
static int tc_fd = -1;

/* Is `arg` afl-fuzz's input file, OUT_DIR/.cur_input (the same directory, however either is spelled)? */
static bool is_afl_input(const char *arg, const char *out_dir)
{
    gchar *base = g_path_get_basename(arg);
    bool named = strcmp(base, ".cur_input") == 0;
    g_free(base);
    if (!named) {
        return false;
    }
    gchar *dir = g_path_get_dirname(arg);
    struct stat a, b;
    bool same = stat(dir, &a) == 0 && stat(out_dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    g_free(dir);
    return same;
}

bool afl_testcase_file_wanted(void)
{
    const char *out_dir = getenv("__AFL_OUT_DIR");
    if (!afl.persist_addr || !getenv("__AFL_SHM_FUZZ_ID") || !out_dir || getenv("EMBER_AFL_FILE_INPUT")) {
        return false;
    }
    /* Our own command line holds the guest's (after ember's options, which never name that file). */
    gchar *cmdline;
    gsize len;
    if (!g_file_get_contents("/proc/self/cmdline", &cmdline, &len, NULL)) {
        return false;
    }
    for (gsize off = 0; off < len && !tc_path; off += strlen(cmdline + off) + 1) {
        if (is_afl_input(cmdline + off, out_dir)) {
            tc_path = g_strdup(cmdline + off);
        }
    }
    g_free(cmdline);
    if (tc_path && afl.debug) {
        fprintf(stderr, "ember-x86_64: AFL: test cases from shared memory, written into %s\n", tc_path);
    }
    return tc_path != NULL;
}

int afl_testcase_attach(void)
{
    const char *id = getenv("__AFL_SHM_FUZZ_ID");
    if (!id) {
        fprintf(stderr, "ember-x86_64: afl-fuzz accepted shared-memory test cases but set no __AFL_SHM_FUZZ_ID\n");
        return -1;
    }
    void *m = shmat(atoi(id), NULL, 0);   /* writable: a hook gets the bytes as its own */
    if (m == (void *)-1) {
        fprintf(stderr, "ember-x86_64: cannot attach the test case memory (shm %s): %s\n", id, strerror(errno));
        return -1;
    }
    tc_len = m;
    tc_buf = (const uint8_t *)m + sizeof(uint32_t);
    if (tc_path) {
        /* Kept open, above the descriptors a guest usually gets, and not inherited by what it runs. */
        int fd = open(tc_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        tc_fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 200) : -1;
        if (fd >= 0) {
            close(fd);
        }
        if (tc_fd < 0) {
            fprintf(stderr, "ember-x86_64: AFL: cannot open %s: %s\n", tc_path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

const uint8_t *afl_testcase(uint32_t *len)
{
    if (!tc_len) {
        return NULL;
    }
    uint32_t n = *(volatile const uint32_t *)tc_len;
    *len = n > AFL_TESTCASE_MAX ? AFL_TESTCASE_MAX : n;
    return tc_buf;
}

void afl_testcase_put(void)
{
    uint32_t len;
    const uint8_t *buf = afl_testcase(&len);
    if (tc_fd < 0 || !buf) {
        return;
    }
    struct stat st;
    ssize_t n = pwrite(tc_fd, buf, len, 0);
    /* Only a shorter test case needs the file cut (a journalled size change on most file systems). */
    if (n == (ssize_t)len && fstat(tc_fd, &st) == 0 && st.st_size > (off_t)len) {
        n = ftruncate(tc_fd, len) == 0 ? n : -1;
    }
    if (n != (ssize_t)len && afl.debug) {
        fprintf(stderr, "ember-x86_64: AFL: writing the test case into %s: %s\n", tc_path, strerror(errno));
    }
}
