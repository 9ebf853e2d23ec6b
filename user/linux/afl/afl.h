/*
 * AFL++ "qemu mode" in ember-x86_64: with it, ember-x86_64 stands in for afl-qemu-trace, so an unmodified
 * afl-fuzz -Q (and afl-showmap, afl-cmin, afl-tmin) fuzzes binaries that were built without instrumentation.
 *
 *   edge coverage   IR at the start of each block in the instrumented ranges: map[cur ^ prev]++ (afl-instrument.c)
 *   comparisons     CompCov (byte-wise matches of multi-byte compares into the map) and CMPLOG (operands into
 *                   the cmplog map), from the translator's CMP/SUB hook (afl-instrument.c, afl-cmplog.c), and
 *                   the arguments of strcmp/memcmp-like calls through the program's PLT (afl-cmplog-rtn.c)
 *   fork server     the protocol on fds 198/199, started at the program's entry; the blocks a child
 *                   translates and the chains it makes flow back to the server, so later children start
 *                   warm; children are forked ahead and fault in what they will need before their run
 *                   (afl-forkserver.c, afl-prefault.c)
 *   persistent mode AFL_QEMU_PERSISTENT_*: loop over one function without forking, optionally restoring
 *                   registers and memory (afl-persistent.c); AFL_QEMU_PERSISTENT_HOOK feeds each run from
 *                   shared memory through a host library (afl-hook.c); so does ember itself for afl-fuzz's
 *                   input file (afl-testcase.c)
 *
 * Everything is configured from the environment variables afl-fuzz and its users set (afl-config.c).
 */
#ifndef EMBER_LINUX_AFL_H
#define EMBER_LINUX_AFL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tcg/tcg.h"
#include "user/linux/elf-load.h"

/*
 * Read the AFL environment and, when asked for, attach the maps and install the translator hooks. Call
 * after the program is loaded and before any guest code is translated. 0 (also when AFL mode is off), or
 * -1 after printing a one-line error.
 */
int linux_afl_init(const LinuxElfImage *img);

/* --- shared by the files of this module ---------------------------------------------------------------- */

#define AFL_FORKSRV_FD 198            /* control: afl-fuzz -> us; 199 is status: us -> afl-fuzz */
#define AFL_MAP_SIZE_DEFAULT 65536u   /* afl's MAP_SIZE */
#define AFL_MAX_RANGES 32

typedef struct AflRange {
    uint64_t start, end;              /* [start, end) */
} AflRange;

typedef struct AflState {
    uint8_t *map;                     /* the coverage map (__AFL_SHM_ID), NULL: no coverage */
    uint32_t map_size;                /* a power of two */
    bool inst_all;                    /* AFL_INST_LIBS: every block */
    AflRange ranges[AFL_MAX_RANGES];  /* instrumented, unless inst_all */
    int nranges;
    AflRange excludes[AFL_MAX_RANGES];
    int nexcludes;
    const char *range_names;          /* AFL_QEMU_INST_RANGES entries that name a module: resolved at the entry */
    uint64_t entry;                   /* where the fork server starts (AFL_ENTRYPOINT or the program's entry) */
    bool forkserver;                  /* fds 198/199 are open */
    bool fs_started;
    bool in_child;                    /* a child of the fork server */
    int compcov_level;                /* AFL_COMPCOV_LEVEL: 0 off, 1 compares with an immediate, 2 all */
    struct AflCmpMap *cmp_map;        /* __AFL_CMPLOG_SHM_ID: CMPLOG run, NULL otherwise */
    bool debug;                       /* AFL_DEBUG */
    /* persistent mode */
    uint64_t persist_addr, persist_ret;   /* 0: off; ret 0: return to the caller of persist_addr */
    uint32_t persist_cnt;
    bool persist_gpr, persist_mem;
    bool shm_fuzz;                    /* test cases in shared memory (a persistent hook's, or the input file's) */
} AflState;

extern AflState afl;
/* The previous block's id >> 1 (AFL's prev_loc), per guest thread (a shared one would make a threaded
   program's edges depend on how its threads interleave); generated code reads and writes it. */
struct CPUX86State;
void afl_prev_loc_reset(struct CPUX86State *env);

/* afl-config.c */
int afl_config_read(const LinuxElfImage *img);
void afl_resolve_range_names(void);
bool afl_pc_instrumented(uint64_t pc);

/* afl-instrument.c: the translator hooks */
void afl_instrument_install(void);
uint32_t afl_hash_pc(uint64_t pc, uint32_t mask);

/*
 * The cmplog map, as afl++ 4.04c lays it out (include/cmplog.h): CMP_MAP_W headers of 8 bytes, then for
 * each of them CMP_MAP_H slots of 32 bytes. Instructions fill a slot with two operands; routines (strcmp,
 * memcmp, ...) fill two slots at once with up to 31 bytes of each argument and their lengths, so a header
 * of a routine has CMP_MAP_H / 4 of those double slots in use.
 */
#define CMP_MAP_W 65536
#define CMP_MAP_H 32
#define CMP_MAP_RTN_H (CMP_MAP_H / 4)
#define CMP_TYPE_INS 1
#define CMP_TYPE_RTN 2

typedef struct __attribute__((packed)) AflCmpHeader {
    unsigned hits : 24;
    unsigned id : 24;
    unsigned shape : 5;       /* operand size in bytes - 1 */
    unsigned type : 2;        /* CMP_TYPE_INS or CMP_TYPE_RTN */
    unsigned attribute : 4;
    unsigned overflow : 1;
    unsigned reserved : 4;
} AflCmpHeader;

typedef struct __attribute__((packed)) AflCmpOperands {
    uint64_t v0, v1, v0_128, v1_128;
} AflCmpOperands;

/* A routine's arguments; a length with 0x80 set says "a string, with its NUL counted". */
typedef struct __attribute__((packed)) AflCmpFnOperands {
    uint8_t v0[31];
    uint8_t v0_len;
    uint8_t v1[31];
    uint8_t v1_len;
} AflCmpFnOperands;

typedef struct AflCmpMap {
    AflCmpHeader headers[CMP_MAP_W];
    AflCmpOperands log[CMP_MAP_W][CMP_MAP_H];
} AflCmpMap;

/* afl-cmplog.c */
int afl_cmplog_attach(const char *shm_id);
void afl_cmplog_log(uint64_t key, uint64_t v0, uint64_t v1, uint32_t bits);
/* Stop recording into afl-fuzz's maps (after persistent mode's last run). */
void afl_maps_discard(void);

/* afl-cmplog-rtn.c: comparison routines (strcmp, memcmp, ...) called through the program's PLT */
int afl_cmplog_rtn_init(const LinuxElfImage *img);
bool afl_cmplog_rtn_wants(uint64_t pc);
void afl_cmplog_rtn_emit(TCGContext *s, uint64_t pc);

/* afl-prefault.c: the faults a fork server's child would take, taken by the waiting spare */
void afl_prefault_snapshot(void);
void afl_prefault_touch(void);
bool afl_prefault_learner(uint32_t child_index);
void afl_prefault_mark(void);
void afl_prefault_learn(uint32_t child_index);

/* afl-forkserver.c */
void afl_forkserver_emit_start(TCGContext *s);
void afl_feedback_note(uint64_t pc, uint32_t flags);
/* Persistent mode's end of an iteration, in the child: tell afl-fuzz (false: no fork server child, it
   stopped itself instead); then, the state restored, wait for the next test case. */
bool afl_forkserver_child_report(void);
void afl_forkserver_child_next(void);

/* afl-hook.c: AFL_QEMU_PERSISTENT_HOOK */
int afl_hook_load(const char *path);
void afl_hook_run(struct CPUX86State *env);

/* afl-testcase.c: test cases in shared memory (FS_OPT_SHDMEM_FUZZ) */
/* In persistent mode under afl-fuzz, with its input file on the command line: ember can write it. */
bool afl_testcase_file_wanted(void);
/* After afl-fuzz agreed: attach the test case memory (and open the input file). 0, or -1 after a message. */
int afl_testcase_attach(void);
/* The current test case (NULL when none is in shared memory). */
const uint8_t *afl_testcase(uint32_t *len);
/* Before a run: write the test case into the input file (when ember writes it). */
void afl_testcase_put(void);

/* afl-persistent.c */
bool afl_persistent_wants(uint64_t pc);
/* At ADDR (the fork server starting there, or the first run): learn the return site and hook it. */
void afl_persistent_prepare(struct CPUX86State *env);
void afl_persistent_emit(TCGContext *s, uint64_t pc);

#endif
