/*
 * The soft-MMU: a per-CPU TLB from guest-virtual pages to host RAM (or to MMIO), filled by the target's
 * page walk, used by system mode for every guest load, store and code fetch. Target-independent: the
 * target supplies the walk (SoftMMUTarget) and the machine supplies physical memory (SoftMMUPhys), so
 * core/ never depends on a machine.
 *
 * TLB: direct-mapped, SOFTMMU_TLB_SIZE entries per MMU index (x86: 0 kernel, 1 user), 32 bytes each so
 * that generated code finds one with a shift and a mask (the JIT's inline lookup, jit-softmmu.c). An
 * entry has one tag per access kind (read, write, code): the virtual page, plus flag bits in the low
 * bits that make every inline compare with a page-aligned address fail:
 *   SOFTMMU_TAG_IO       the page is not RAM: every access calls the machine;
 *   SOFTMMU_TAG_NOTDIRTY (write tags) the physical page holds translated code: a store must drop it first.
 * A hit on RAM gives host = vaddr + addend. A write tag is only set once the walk has marked the page
 * dirty. When a physical page gets translated code, every CPU's write tags for it get NOTDIRTY
 * (softmmu_code_page_set): stores through generated code can then never skip the check.
 * The physical page of each entry is kept beside the table (SoftMMUTable.paddr), read only by C. An entry
 * pushed out of its slot by another page goes to a small victim list searched before a walk (a copy whose
 * source and destination share a slot would otherwise walk twice per element). Translations the walk
 * marks global (x86: PTE.G with CR4.PGE) survive softmmu_flush_nonglobal (a CR3 write).
 *
 * Generated code reaches the table of the CPU's current MMU index through TCGCPU.mem_tlb, which the
 * target keeps up to date (softmmu_bind) whenever the index changes (x86: CPL changes).
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
#define SOFTMMU_TLB_BITS 11
#define SOFTMMU_TLB_SIZE (1u << SOFTMMU_TLB_BITS)
#define SOFTMMU_ENTRY_BITS 5                   /* log2(sizeof(SoftMMUEntry)) */
#define SOFTMMU_NB_MMU_MODES 2
#define SOFTMMU_VICTIMS 8
#define SOFTMMU_JMP_GROUP_BITS 6
#define SOFTMMU_JMP_SLOT_BITS 6
#define SOFTMMU_JMP_SIZE (1u << (SOFTMMU_JMP_GROUP_BITS + SOFTMMU_JMP_SLOT_BITS))
/* Tag flags (below the page offset bits). */
#define SOFTMMU_TAG_IO 1ULL
#define SOFTMMU_TAG_NOTDIRTY 2ULL
#define SOFTMMU_TAG_FLAGS 3ULL
/* Flags beside an entry's physical page (SoftMMUTable.paddr) */
#define SOFTMMU_PINFO_IO SOFTMMU_TAG_IO       /* not RAM */
#define SOFTMMU_PINFO_GLOBAL 2ULL             /* SOFTMMU_PROT_GLOBAL */
/* Matches no address: its low bits are not those of a page. */
#define SOFTMMU_TAG_INVALID (~0ULL)

struct TCGCPU;

typedef enum SoftMMUAccess { SOFTMMU_READ = 0, SOFTMMU_WRITE = 1, SOFTMMU_CODE = 2 } SoftMMUAccess;

/* Rights the walk grants on a page (besides the one asked for). */
enum {
    SOFTMMU_PROT_READ = 1, SOFTMMU_PROT_WRITE = 2, SOFTMMU_PROT_EXEC = 4,
    SOFTMMU_PROT_GLOBAL = 8,   /* not a right: the translation survives softmmu_flush_nonglobal */
};

typedef struct SoftMMUEntry {
    uint64_t tag[3];          /* per SoftMMUAccess: the virtual page | SOFTMMU_TAG_*, or SOFTMMU_TAG_INVALID */
    uintptr_t addend;         /* host = vaddr + addend (RAM) */
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

struct TranslationBlock;

/* The jump cache: the block last found at a pc (see SoftMMUTable). */
typedef struct SoftMMUJmp {
    uint64_t pc;
    struct TranslationBlock *tb;   /* never NULL: an empty slot holds a block marked invalid */
} SoftMMUJmp;

/*
 * One MMU index's translations; TCGCPU.mem_tlb points at the current one.
 *
 * Besides the TLB it holds a jump cache for generated code's indirect jumps (goto_ptr), keyed by the
 * virtual pc: the block found there under the target's flags `jmp_flags` (the uint32 at
 * TCGTargetOps.tb_flags_offset; a fill under other flags empties the cache first). Entries stay valid as
 * long as the pc -> block relation does: every TLB flush empties it, and the target calls
 * softmmu_jmp_flush_page for a one-page flush and softmmu_jmp_flush when the pc's meaning changes
 * otherwise (x86: a new CS base). Slots are grouped by page (softmmu_jmp_index) so that a page's
 * entries can be dropped together.
 */
typedef struct SoftMMUTable {
    SoftMMUEntry e[SOFTMMU_TLB_SIZE];      /* first: generated code indexes from the table's address */
    SoftMMUJmp jmp[SOFTMMU_JMP_SIZE];
    uint32_t jmp_flags;
    bool used;                             /* may hold valid entries (a flush of a clean table is free) */
    bool code_global;                      /* the last code lookup found a global page */
    uint64_t jmp_filled[SOFTMMU_JMP_SIZE / 64];   /* slots holding a block, one bit each */
    uint64_t jmp_global[SOFTMMU_JMP_SIZE / 64];   /* ...whose block lies on a global page */
    uint64_t nonglobal[SOFTMMU_TLB_SIZE / 64];    /* entries that may hold a non-global translation */
    /* Each entry's guest-physical page, | SOFTMMU_PINFO_* */
    uint64_t paddr[SOFTMMU_TLB_SIZE];
} SoftMMUTable;

/* The jump-cache slot of a pc: a group of slots by page, a slot in it by offset (generated code computes the
   same). */
static inline unsigned softmmu_jmp_index(uint64_t pc)
{
    return (unsigned)((((pc >> SOFTMMU_PAGE_BITS) & ((1u << SOFTMMU_JMP_GROUP_BITS) - 1)) << SOFTMMU_JMP_SLOT_BITS) |
                      ((pc ^ (pc >> SOFTMMU_JMP_SLOT_BITS)) & ((1u << SOFTMMU_JMP_SLOT_BITS) - 1)));
}

typedef struct SoftMMU {
    SoftMMUTable tlb[SOFTMMU_NB_MMU_MODES];
    /* Per MMU index: entries evicted from the table, searched on a miss before walking (conflicts in the
       direct-mapped table, e.g. a copy whose source and destination share an index). */
    SoftMMUEntry victim[SOFTMMU_NB_MMU_MODES][SOFTMMU_VICTIMS];
    uint64_t victim_paddr[SOFTMMU_NB_MMU_MODES][SOFTMMU_VICTIMS];
    unsigned victim_next[SOFTMMU_NB_MMU_MODES];
    const SoftMMUTarget *target;
    const SoftMMUPhys *phys;
    struct SoftMMU *next;     /* every live SoftMMU, for softmmu_code_page_set */
} SoftMMU;

/* softmmu_init registers the SoftMMU with the code-page tracking; softmmu_destroy before freeing it. */
void softmmu_init(SoftMMU *mmu, const SoftMMUTarget *target, const SoftMMUPhys *phys);
void softmmu_destroy(SoftMMU *mmu);
void softmmu_flush(SoftMMU *mmu);
/* Drop every translation the walk did not mark SOFTMMU_PROT_GLOBAL (x86: a CR3 write with CR4.PGE). */
void softmmu_flush_nonglobal(SoftMMU *mmu);
void softmmu_flush_page(SoftMMU *mmu, uint64_t vaddr);
/* Point cpu->mem_tlb at the table of mmu_idx (the target calls this whenever its current index changes). */
void softmmu_bind(SoftMMU *mmu, struct TCGCPU *cpu, int mmu_idx);

/* What an entry of the table maps: its guest-physical page, and whether that is MMIO. */
static inline uint64_t softmmu_entry_pinfo(const SoftMMU *mmu, const SoftMMUEntry *e)
{
    int m = 0;
    while (m + 1 < SOFTMMU_NB_MMU_MODES && e >= mmu->tlb[m + 1].e) {
        m++;
    }
    return mmu->tlb[m].paddr[e - mmu->tlb[m].e];
}
static inline uint64_t softmmu_entry_paddr(const SoftMMU *mmu, const SoftMMUEntry *e)
{
    return softmmu_entry_pinfo(mmu, e) & SOFTMMU_PAGE_MASK;
}
static inline bool softmmu_entry_io(const SoftMMU *mmu, const SoftMMUEntry *e)
{
    return (softmmu_entry_pinfo(mmu, e) & SOFTMMU_TAG_IO) != 0;
}

/* The jump cache (see SoftMMUTable). */
void softmmu_jmp_flush(SoftMMU *mmu);
/* The page of code at pcs [pc, pc + page size) changed its mapping: drop the blocks that may touch it (a block
   may start on the page before). */
void softmmu_jmp_flush_page(SoftMMU *mmu, uint64_t pc);
/* Record tb as the block at cpu's pc under `flags`, in the table of the current MMU index. */
void softmmu_jmp_fill(struct TCGCPU *cpu, uint64_t pc, uint32_t flags, struct TranslationBlock *tb);

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
