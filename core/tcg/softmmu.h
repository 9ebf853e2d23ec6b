/*
 * The soft-MMU: a per-CPU TLB from guest-virtual pages to host RAM (or to MMIO), filled by the target's
 * page walk, used by system mode for every guest load, store and code fetch. Target-independent: the
 * target supplies the walk (SoftMMUTarget) and the machine supplies physical memory (SoftMMUPhys), so
 * core/ never depends on a machine.
 *
 * TLB: direct-mapped, SOFTMMU_TLB_SIZE entries per MMU index (x86: 0 kernel, 1 user). An entry has one
 * tag per access kind (read, write, code), each the virtual page or SOFTMMU_TAG_INVALID; a hit on RAM
 * gives host = vaddr + addend. Entries for MMIO have addend 0 and the `io` flag: every access calls the
 * machine. A write tag is only set once the walk has marked the page dirty, and never for a physical
 * page that holds translated code (the slow path invalidates those blocks first).
 *
 * Self-modifying code and DMA: the translator's pages are recorded in a global bitmap over guest-physical
 * pages (softmmu_code_page_set through tb.h's page hooks); a store to such a page drops its blocks.
 */
#ifndef EMBER_TCG_SOFTMMU_H
#define EMBER_TCG_SOFTMMU_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tcg/tcg.h"

#define SOFTMMU_PAGE_BITS 12
#define SOFTMMU_PAGE_SIZE (1ULL << SOFTMMU_PAGE_BITS)
#define SOFTMMU_PAGE_MASK (~(SOFTMMU_PAGE_SIZE - 1))
#define SOFTMMU_TLB_BITS 8
#define SOFTMMU_TLB_SIZE (1u << SOFTMMU_TLB_BITS)
#define SOFTMMU_NB_MMU_MODES 2
#define SOFTMMU_TAG_INVALID (~0ULL)

struct TCGCPU;

typedef enum SoftMMUAccess { SOFTMMU_READ = 0, SOFTMMU_WRITE = 1, SOFTMMU_CODE = 2 } SoftMMUAccess;

/* Rights the walk grants on a page (besides the one asked for). */
enum { SOFTMMU_PROT_READ = 1, SOFTMMU_PROT_WRITE = 2, SOFTMMU_PROT_EXEC = 4 };

typedef struct SoftMMUEntry {
    uint64_t tag[3];          /* per SoftMMUAccess: the virtual page, or SOFTMMU_TAG_INVALID */
    uintptr_t addend;         /* host = vaddr + addend (RAM) */
    uint64_t paddr;           /* the guest-physical page */
    bool io;                  /* not RAM: every access goes to the machine */
} SoftMMUEntry;

/* Guest-physical memory: RAM pages as host pointers, the rest as MMIO. */
typedef struct SoftMMUPhys {
    /* The host address of the RAM page holding paddr (page-aligned), or NULL if it is not RAM. */
    void *(*ram_page)(void *opaque, uint64_t paddr);
    uint64_t (*io_read)(void *opaque, uint64_t paddr, unsigned size);
    void (*io_write)(void *opaque, uint64_t paddr, uint64_t value, unsigned size);
    void *opaque;
} SoftMMUPhys;

/* The target's page walk. */
typedef struct SoftMMUTarget {
    /*
     * Translate vaddr for `access` in MMU index `mmu_idx`: the physical address and the rights on its
     * page. On a fault: if `probe`, return false; else raise the guest fault (does not return).
     */
    bool (*walk)(struct TCGCPU *cpu, uint64_t vaddr, SoftMMUAccess access, int mmu_idx, bool probe,
                 uint64_t *paddr, int *prot);
    /* The MMU index of ordinary accesses now (x86: CPL 3 is user). */
    int (*mmu_index)(struct TCGCPU *cpu);
} SoftMMUTarget;

typedef struct SoftMMU {
    SoftMMUEntry tlb[SOFTMMU_NB_MMU_MODES][SOFTMMU_TLB_SIZE];
    const SoftMMUTarget *target;
    const SoftMMUPhys *phys;
} SoftMMU;

void softmmu_init(SoftMMU *mmu, const SoftMMUTarget *target, const SoftMMUPhys *phys);
void softmmu_flush(SoftMMU *mmu);
void softmmu_flush_page(SoftMMU *mmu, uint64_t vaddr);

/* The entry for vaddr after a fill if needed; NULL only if `probe` and the walk failed. */
SoftMMUEntry *softmmu_lookup(SoftMMU *mmu, struct TCGCPU *cpu, uint64_t vaddr, SoftMMUAccess access, int mmu_idx,
                             bool probe);

/* Loads/stores of 1, 2, 4 or 8 bytes (mo), any alignment (a page-crossing access is split). */
uint64_t softmmu_ld(SoftMMU *mmu, struct TCGCPU *cpu, uint64_t vaddr, TCGMemOp mo, int mmu_idx);
void softmmu_st(SoftMMU *mmu, struct TCGCPU *cpu, uint64_t vaddr, uint64_t value, TCGMemOp mo, int mmu_idx);
/* Bytes: a whole range, checked for every page before anything is written (restartable). */
void softmmu_read(SoftMMU *mmu, struct TCGCPU *cpu, uint64_t vaddr, void *buf, uint64_t len, SoftMMUAccess access,
                  int mmu_idx);
void softmmu_write(SoftMMU *mmu, struct TCGCPU *cpu, uint64_t vaddr, const void *buf, uint64_t len, int mmu_idx);
/* The host address of [vaddr, vaddr+len) if it lies in one RAM page and the access is allowed (may raise
   the guest fault unless probe); NULL for MMIO, a page-crossing range, or a failed probe. Stores through
   it must have called softmmu_notify_write first (done here when access is SOFTMMU_WRITE). */
void *softmmu_host_ptr(SoftMMU *mmu, struct TCGCPU *cpu, uint64_t vaddr, uint64_t len, SoftMMUAccess access,
                       int mmu_idx, bool probe);

/* Guest-physical pages holding translated code (global: every CPU shares the block cache). */
void softmmu_code_page_set(uint64_t paddr, bool has_code);
bool softmmu_code_page_test(uint64_t paddr);
/* A write reached physical page paddr (a store, DMA): drop translated code there. */
void softmmu_notify_write(uint64_t paddr);
/* Use these as the block cache's page hooks (tb_set_page_hooks) in system mode. */
void softmmu_install_code_hooks(void);

#endif
