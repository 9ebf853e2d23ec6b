/*
 * Translation blocks and their cache: keyed by guest pc and CPU mode flags, chained to each other, and
 * invalidated when the guest writes to a page that holds their code.
 */
#ifndef EMBER_TCG_TB_H
#define EMBER_TCG_TB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tcg/backend.h"

/* C++ (the googletest tests) has no _Atomic qualifier; the layout is the same, only C code touches it. */
#ifdef __cplusplus
#define TB_ATOMIC
#else
#define TB_ATOMIC _Atomic
#endif

#define TB_PAGE_SIZE 4096ULL
#define TB_PAGE_MASK (~(TB_PAGE_SIZE - 1))

typedef struct TranslationBlock {
    uint64_t pc;                 /* guest pc of the first instruction */
    uint32_t flags;              /* CPU mode the block was translated for */
    /* Nonzero: dropped from the cache; may still be running in another thread. */
    uint32_t invalid;
    const void *entry;           /* where generated code jumps in (the JIT's: code + its header), or NULL */
    uint32_t size;               /* bytes of guest code */
    uint32_t icount;             /* guest instructions */
    uint64_t page[2];            /* guest pages its code touches; page[1] is ~0 when it fits in one */
    void *code;                  /* the backend's executable form */
    uint32_t code_size;
    /* chaining: where each goto_tb slot goes, and who jumps into this block */
    struct TranslationBlock *TB_ATOMIC jmp_dest[TCG_GOTO_TB_SLOTS];
    struct TBIncoming *incoming;
    /* In: 0, or at most this many guest instructions (the loop sets it when retrying a block that
       overflowed the IR buffers; a translator should stop after that many). */
    uint32_t max_insns;
    /* The backend whose code this is (NULL: the cache's default from tb_cache_init). Blocks of different
       backends never chain, and a block replaces one of another backend at the same key. */
    const TCGBackend *backend;
    /* 0, or tb_flush_generation() when the backend placed its code: a block compiled before a flush is
       never published (its code may be in a code-buffer slice that is being recycled). */
    uint64_t flush_gen;
    /* A first translation, made without the optimizer (most code runs a few times only: translating it
       cheaply is what counts). Its code counts `runs_left` down and asks for an optimized translation at
       zero (TCG_SLOT_HOT). */
    bool cold;
    int32_t runs_left;
    /* Run once outside the cache (a debugger's single step, an SMC re-run: tcg_run_uncached): its indirect
       jumps go back to the loop instead of on to the next block, so that it runs its instruction only. */
    bool alone;
} TranslationBlock;

typedef struct TBIncoming {
    TranslationBlock *from;
    int slot;
    struct TBIncoming *next;
} TBIncoming;

/* The cache is global (shared by all guest threads) and locked inside. */
void tb_cache_init(const TCGBackend *backend);
/* Let dropped blocks be freed once no CPU can hold them (see tb.c: not with soft-MMU jump caches). */
void tb_enable_reclaim(void);
/* The current drop epoch (TCGCPU.tb_epoch takes it on entering tcg_cpu_exec). */
uint64_t tb_epoch_now(void);
TranslationBlock *tb_lookup(uint64_t pc, uint32_t flags);
/* Adds tb; returns the block already there if another thread was faster (tb is then discarded). */
TranslationBlock *tb_insert(TranslationBlock *tb);
void tb_chain(TranslationBlock *from, int slot, TranslationBlock *to);
/* tb, translated again, takes the place of `old` (dropped, as by an invalidation); if old is gone already,
   as tb_insert. */
TranslationBlock *tb_replace(TranslationBlock *old, TranslationBlock *tb);

/*
 * Self-modifying code. Pages holding translated code are write-protected through the hook below; a write
 * fault on such a page calls tb_invalidate_page, which drops its blocks and makes the page writable again.
 */
typedef struct TBPageHooks {
    /* Called with the cache lock held: make `page` read-only (protect) or restore the guest's rights. */
    void (*protect)(uint64_t page, bool protect);
    /* Called without the lock: may the guest execute code on `page`, and can the translator read it without
       a fault? Lets a block go on into the next page; without the hook blocks end at page boundaries. */
    bool (*executable)(uint64_t page);
    /* Optional, without the lock: is the page mapped but not executable for the guest? (Then fetching
       code there faults; a translator must not read it as code just because the host lets it read.) */
    bool (*fetch_denied)(uint64_t page);
} TBPageHooks;

void tb_set_page_hooks(const TBPageHooks *hooks);
bool tb_page_executable(uint64_t page);
bool tb_page_fetch_denied(uint64_t page);
/* True if the page held translated code (and now does not). */
bool tb_invalidate_page(uint64_t page);
/* Around a host fork (see tcg_fork_lock). */
void tb_fork_lock(bool lock);
bool tb_page_has_code(uint64_t page);
/* Drop every block (munmap of code, a failed syscall on protected pages). */
void tb_flush_all(void);
/* How many times tb_flush_all has run. */
uint64_t tb_flush_generation(void);

#endif
