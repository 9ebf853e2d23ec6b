/*
 * The AFL environment: which blocks to instrument, the map, where the fork server starts. The variables
 * are afl-fuzz's (docs/env_variables.md of AFL++, "qemu_mode" section).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>
#include <fcntl.h>
#include <glib.h>

#include "user/linux/afl/afl.h"
#include "user/linux/guest-mem.h"

AflState afl;

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);   /* AFL writes them as 0x... hex */
    if (errno || end == s || *end) {
        return false;
    }
    *out = v;
    return true;
}

/*
 * "0xSTART-0xEND,name,..." as AFL_QEMU_INST_RANGES takes it: address ranges go into `list`; a name (a module,
 * matched as a substring of its path) is kept for when the libraries are loaded. False on a malformed range.
 */
static bool parse_ranges(const char *spec, AflRange *list, int *n, bool *has_names)
{
    gchar **parts = g_strsplit(spec, ",", -1);
    bool ok = true;
    for (int i = 0; parts[i]; i++) {
        char *p = g_strstrip(parts[i]);
        char *dash = strchr(p, '-');
        uint64_t a, b;
        if (!*p) {
            continue;
        }
        if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && dash) {
            *dash = '\0';
            if (!parse_u64(p, &a) || !parse_u64(dash + 1, &b) || b <= a || *n >= AFL_MAX_RANGES) {
                ok = false;
                break;
            }
            list[(*n)++] = (AflRange){a, b};
        } else {
            *has_names = true;
        }
    }
    g_strfreev(parts);
    return ok;
}

/* The largest power of two not above v (the map index is a mask). */
static uint32_t pow2_floor(uint64_t v)
{
    uint32_t p = 1;
    while ((uint64_t)p * 2 <= v && p < (1u << 30)) {
        p *= 2;
    }
    return p;
}

/*
 * Without AFL_MAP_SIZE, the map is sized to the code it covers, as afl-cc's targets size theirs to their
 * edges and tell afl-fuzz in the hello: two entries per byte of instrumented code (a block is some 15-20
 * bytes, so a few percent of the entries are used), at least a page, at most afl's 64 KiB. A small map
 * is a large part of a run's cost saved: each page of it a child touches is a page fault (fork does not
 * map shared memory into children), and afl-fuzz clears, classifies and compares the whole map each run.
 * Everything (AFL_INST_LIBS) or modules named in AFL_QEMU_INST_RANGES are not known yet: 64 KiB.
 */
static uint32_t default_map_size(bool names)
{
    if (afl.inst_all || names) {
        return AFL_MAP_SIZE_DEFAULT;
    }
    uint64_t code = 0;
    for (int i = 0; i < afl.nranges; i++) {
        code += afl.ranges[i].end - afl.ranges[i].start;
    }
    uint32_t size = 4096;
    while (size < AFL_MAP_SIZE_DEFAULT && size < code * 2) {
        size *= 2;
    }
    return size;
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

int afl_config_read(const LinuxElfImage *img)
{
    const char *v;
    afl.debug = getenv("AFL_DEBUG") != NULL;
    afl.map_size = AFL_MAP_SIZE_DEFAULT;
    if ((v = getenv("AFL_MAP_SIZE")) || (v = getenv("AFL_MAPSIZE"))) {
        uint64_t n;
        if (!parse_u64(v, &n) || n < 64) {
            fprintf(stderr, "ember-x86_64: bad AFL_MAP_SIZE '%s'\n", v);
            return -1;
        }
        afl.map_size = pow2_floor(n);
    }
    if ((v = getenv("__AFL_SHM_ID"))) {
        void *m = shmat(atoi(v), NULL, 0);
        if (m == (void *)-1) {
            fprintf(stderr, "ember-x86_64: cannot attach the AFL map (shm %s): %s\n", v, strerror(errno));
            return -1;
        }
        afl.map = m;
    }
    if ((v = getenv("__AFL_CMPLOG_SHM_ID")) && afl_cmplog_attach(v) < 0) {
        return -1;
    }

    /* What to instrument: the program's code by default. */
    afl.inst_all = getenv("AFL_INST_LIBS") != NULL;
    bool names = false;
    if ((v = getenv("AFL_QEMU_INST_RANGES"))) {
        if (!parse_ranges(v, afl.ranges, &afl.nranges, &names)) {
            fprintf(stderr, "ember-x86_64: bad AFL_QEMU_INST_RANGES '%s'\n", v);
            return -1;
        }
        afl.range_names = names ? v : NULL;
    }
    if ((v = getenv("AFL_QEMU_EXCLUDE_RANGES"))) {
        bool ex_names = false;
        if (!parse_ranges(v, afl.excludes, &afl.nexcludes, &ex_names)) {
            fprintf(stderr, "ember-x86_64: bad AFL_QEMU_EXCLUDE_RANGES '%s'\n", v);
            return -1;
        }
    }
    uint64_t start = img->start_code, end = img->end_code;
    const char *cs = getenv("AFL_CODE_START"), *ce = getenv("AFL_CODE_END");
    if ((cs && !parse_u64(cs, &start)) || (ce && !parse_u64(ce, &end))) {
        fprintf(stderr, "ember-x86_64: bad AFL_CODE_START/AFL_CODE_END\n");
        return -1;
    }
    if (afl.nranges == 0 && !names && end > start) {
        afl.ranges[afl.nranges++] = (AflRange){start, end};
    }
    if (!getenv("AFL_MAP_SIZE") && !getenv("AFL_MAPSIZE")) {
        afl.map_size = default_map_size(names);
    }

    v = getenv("AFL_COMPCOV_LEVEL");
    afl.compcov_level = v ? atoi(v) : 0;

    if ((v = getenv("AFL_QEMU_PERSISTENT_ADDR"))) {
        if (!parse_u64(v, &afl.persist_addr)) {
            fprintf(stderr, "ember-x86_64: bad AFL_QEMU_PERSISTENT_ADDR '%s'\n", v);
            return -1;
        }
        if ((v = getenv("AFL_QEMU_PERSISTENT_RET")) && !parse_u64(v, &afl.persist_ret)) {
            fprintf(stderr, "ember-x86_64: bad AFL_QEMU_PERSISTENT_RET '%s'\n", v);
            return -1;
        }
        v = getenv("AFL_QEMU_PERSISTENT_CNT");
        afl.persist_cnt = v ? (uint32_t)strtoul(v, NULL, 0) : 1000;
        if (afl.persist_cnt == 0) {
            afl.persist_cnt = 1000;
        }
        /* A snapshot restores registers and memory. */
        afl.persist_gpr = getenv("AFL_QEMU_PERSISTENT_GPR") != NULL || getenv("AFL_QEMU_SNAPSHOT") != NULL;
        afl.persist_mem = getenv("AFL_QEMU_PERSISTENT_MEM") != NULL || getenv("AFL_QEMU_SNAPSHOT") != NULL;
    } else if ((v = getenv("AFL_QEMU_SNAPSHOT"))) {
        /* A snapshot at an address is persistent mode with its memory and registers restored each time. */
        if (!parse_u64(v, &afl.persist_addr)) {
            fprintf(stderr, "ember-x86_64: bad AFL_QEMU_SNAPSHOT '%s'\n", v);
            return -1;
        }
        afl.persist_cnt = 1000;
        afl.persist_gpr = afl.persist_mem = true;
    }
    /* In persistent mode the server forks at the function, so every run of a child covers the same code. */
    afl.entry = afl.persist_addr ? afl.persist_addr : img->prog_entry;
    if ((v = getenv("AFL_ENTRYPOINT")) && !parse_u64(v, &afl.entry)) {
        fprintf(stderr, "ember-x86_64: bad AFL_ENTRYPOINT '%s'\n", v);
        return -1;
    }
    afl.forkserver = fd_open(AFL_FORKSRV_FD) && fd_open(AFL_FORKSRV_FD + 1);

    return 0;
}

/* Module names of AFL_QEMU_INST_RANGES, now that the libraries are mapped: each executable region whose
   path contains the name becomes a range. */
void afl_resolve_range_names(void)
{
    if (!afl.range_names) {
        return;
    }
    size_t len;
    char *maps = guest_mem_format_maps(&len);
    gchar **want = g_strsplit(afl.range_names, ",", -1);
    gchar **lines = g_strsplit(maps, "\n", -1);
    for (int l = 0; lines[l]; l++) {
        unsigned long long a, b;
        char perms[8];
        int off = 0;
        if (sscanf(lines[l], "%llx-%llx %7s %*s %*s %*s %n", &a, &b, perms, &off) < 3 || perms[2] != 'x' ||
            off == 0) {
            continue;
        }
        const char *path = lines[l] + off;
        for (int i = 0; want[i]; i++) {
            char *w = g_strstrip(want[i]);
            if (*w && !(w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) && strstr(path, w) &&
                afl.nranges < AFL_MAX_RANGES) {
                afl.ranges[afl.nranges++] = (AflRange){a, b};
                if (afl.debug) {
                    fprintf(stderr, "ember-x86_64: AFL: instrumenting %s 0x%llx-0x%llx\n", path, a, b);
                }
            }
        }
    }
    g_strfreev(lines);
    g_strfreev(want);
    g_free(maps);
    afl.range_names = NULL;
}

bool afl_pc_instrumented(uint64_t pc)
{
    for (int i = 0; i < afl.nexcludes; i++) {
        if (pc >= afl.excludes[i].start && pc < afl.excludes[i].end) {
            return false;
        }
    }
    if (afl.inst_all) {
        return true;
    }
    for (int i = 0; i < afl.nranges; i++) {
        if (pc >= afl.ranges[i].start && pc < afl.ranges[i].end) {
            return true;
        }
    }
    return false;
}

int linux_afl_init(const LinuxElfImage *img)
{
    if (!getenv("__AFL_SHM_ID") && !getenv("__AFL_CMPLOG_SHM_ID") && fcntl(AFL_FORKSRV_FD, F_GETFD) == -1) {
        return 0;   /* not run by an AFL tool */
    }
    if (afl_config_read(img) < 0) {
        return -1;
    }
    if (afl.debug) {
        fprintf(stderr, "ember-x86_64: AFL: map %p size %u, entry 0x%llx, fork server %s, %d range(s)%s%s\n",
                (void *)afl.map, afl.map_size, (unsigned long long)afl.entry, afl.forkserver ? "on" : "off",
                afl.nranges, afl.inst_all ? ", all code" : "", afl.cmp_map ? ", cmplog" : "");
    }
    const char *hook = getenv("AFL_QEMU_PERSISTENT_HOOK");
    if (hook && afl.persist_addr && afl_hook_load(hook) < 0) {
        return -1;
    }
    if (!hook && afl.forkserver) {   /* a hook takes its test cases as it said it would */
        afl.shm_fuzz = afl_testcase_file_wanted();
    }
    if (afl.cmp_map) {
        afl_cmplog_rtn_init(img);
    }
    afl_instrument_install();
    return 0;
}
