/*
 * Translations kept across runs (user mode). Most of a short program's time under the translator is
 * translation: python3's start-up translates ~180,000 guest instructions to run ~10 ms of native work. A
 * program that runs again runs the same code at the same addresses (a main program goes at a fixed
 * address: ET_EXEC, or elf-load's PIE base), so its translations are kept in a file and placed again on
 * the next run instead of being made again.
 *
 * A kept translation is used only when the guest bytes it was made from are the bytes at its address now,
 * on executable pages, for the same CPU mode flags; the file is used only by the same ember binary for the
 * same program and CPU model (an identity in its header). Only blocks of code that lies at the same address
 * on every run are kept (the front end says which: TBPersistConfig.keepable). The backend turns a block
 * into a position-independent image and back (TCGBackend.freeze/thaw); a block it cannot move (one whose
 * code holds a host address it cannot relocate) is simply not kept.
 *
 * The file grows by appending: a run writes, in one write at its end, only the blocks it had to translate.
 * Every record carries a checksum; a torn or foreign file is ignored and written anew.
 */
#ifndef EMBER_TCG_TB_PERSIST_H
#define EMBER_TCG_TB_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

struct TCGCPU;
struct TranslationBlock;

typedef struct TBPersistConfig {
    const char *path;        /* the cache file */
    uint64_t identity;       /* what the translations depend on besides the guest bytes */
    /* Whether guest code at [pc, pc + size) lies where it will lie on the next run too (only such blocks
       are kept: anything else would only fill the file). */
    bool (*keepable)(uint64_t pc, uint64_t size);
    /* The file stays open for reading at this descriptor or above (user mode: out of the guest's way, whose
       own files must get the numbers they would get natively). */
    int fd_min;
} TBPersistConfig;

/* Use the file at cfg->path (loading what it holds). False, with errno, if it cannot be used at all. */
bool tb_persist_open(const TBPersistConfig *cfg);
/* Append the blocks translated since the last save (at exit, before execve). */
void tb_persist_save(void);
/* In a forked child: the parent saves what it translated; the child keeps only its own. */
void tb_persist_fork_child(void);

/* For the execution loop. Fill tb (its key, backend and run count set, the rest zero) from a kept translation
   of (pc, flags): its optimized one if kept, else its first-tier one when `cold` allows it. */
bool tb_persist_load(struct TCGCPU *cpu, struct TranslationBlock *tb, bool cold);
/* tb was just translated (its backend's compile the last thing this thread did): keep it if it can be. */
void tb_persist_keep(struct TCGCPU *cpu, const struct TranslationBlock *tb);

/* Counters for tests and -d tbcache: blocks placed from the file, translated and kept this run, translated
   but not kept (code that is not where it will be next time, or that cannot move), and found stale. */
typedef struct TBPersistStats {
    unsigned long loaded, kept, unkept, stale, records;
    bool scanned;   /* the file's batch indexes did not add up: it was read record by record */
} TBPersistStats;
TBPersistStats tb_persist_stats(void);

/* A 64-bit hash of n bytes, chained through h (identities, checksums). */
uint64_t tb_persist_hash(uint64_t h, const void *p, size_t n);

#endif
