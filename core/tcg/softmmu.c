/*
 * The soft-MMU's TLB, its slow paths, and the bitmap of guest-physical pages that hold translated code.
 * See softmmu.h.
 */
#include "core/tcg/softmmu.h"

#include <pthread.h>
#include <string.h>

#include <glib.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/tb.h"

_Static_assert(sizeof(SoftMMUEntry) == 1u << SOFTMMU_ENTRY_BITS, "generated code indexes entries by shifting");

/* --- the jump cache --------------------------------------------------------------------------------- */

/* What an empty jump-cache slot points at: a block that is never valid, so generated code needs no NULL
   test. */
static TranslationBlock softmmu_no_tb = {.invalid = true};

#define JMP_SLOTS (1u << SOFTMMU_JMP_SLOT_BITS)
#define JMP_WORDS (SOFTMMU_JMP_SIZE / 64)

static void softmmu_jmp_clear_slot(SoftMMUTable *t, unsigned i)
{
    t->jmp[i].pc = ~0ULL;
    t->jmp[i].tb = &softmmu_no_tb;
}

/* Empty the slots of word w whose bits are set in `which`. */
static void softmmu_jmp_clear_word(SoftMMUTable *t, unsigned w, uint64_t which)
{
    which &= t->jmp_filled[w];
    t->jmp_filled[w] &= ~which;
    t->jmp_global[w] &= ~which;
    while (which) {
        softmmu_jmp_clear_slot(t, w * 64 + (unsigned)__builtin_ctzll(which));
        which &= which - 1;
    }
}

/* Empty the whole cache (only the slots that were filled cost anything). */
static void softmmu_jmp_clear_all(SoftMMUTable *t)
{
    for (unsigned w = 0; w < JMP_WORDS; w++) {
        if (t->jmp_filled[w]) {
            softmmu_jmp_clear_word(t, w, ~0ULL);
        }
    }
}

/* Keep only blocks on global pages. */
static void softmmu_jmp_clear_nonglobal(SoftMMUTable *t)
{
    for (unsigned w = 0; w < JMP_WORDS; w++) {
        if (t->jmp_filled[w] & ~t->jmp_global[w]) {
            softmmu_jmp_clear_word(t, w, ~t->jmp_global[w]);
        }
    }
}

/* Empty the slots of one group (a page's). */
static void softmmu_jmp_clear_group(SoftMMUTable *t, unsigned g)
{
    for (unsigned i = g * JMP_SLOTS; i < (g + 1) * JMP_SLOTS; i += 64) {
        unsigned n = JMP_SLOTS < 64 ? JMP_SLOTS : 64;
        uint64_t bits = n == 64 ? ~0ULL : ((1ULL << n) - 1) << (i % 64);
        softmmu_jmp_clear_word(t, i / 64, bits);
    }
}

void softmmu_jmp_flush(SoftMMU *mmu)
{
    for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
        softmmu_jmp_clear_all(&mmu->tlb[m]);
    }
}

void softmmu_jmp_flush_page(SoftMMU *mmu, uint64_t pc)
{
    /* Blocks starting in [pc - page + 1, pc + page - 1]: two pages when pc is page-aligned, else three. */
    uint64_t first = (pc - SOFTMMU_PAGE_SIZE + 1) & SOFTMMU_PAGE_MASK;
    uint64_t last = (pc + SOFTMMU_PAGE_SIZE - 1) & SOFTMMU_PAGE_MASK;
    for (uint64_t p = first;; p += SOFTMMU_PAGE_SIZE) {
        unsigned g = softmmu_jmp_index(p) / JMP_SLOTS;
        for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
            softmmu_jmp_clear_group(&mmu->tlb[m], g);
        }
        if (p == last) {
            break;
        }
    }
}

void softmmu_jmp_fill(TCGCPU *cpu, uint64_t pc, uint32_t flags, TranslationBlock *tb)
{
    SoftMMUTable *t = cpu->mem_tlb;
    if (t->jmp_flags != flags) {
        softmmu_jmp_clear_all(t);
        t->jmp_flags = flags;
    }
    t->used = true;
    unsigned i = softmmu_jmp_index(pc);
    t->jmp[i].pc = pc;
    t->jmp[i].tb = tb;
    t->jmp_filled[i / 64] |= 1ULL << (i % 64);
    /* The target's key lookup of this block just looked its code page up (code_global); a block that goes on
       to a second page may depend on a mapping that is not global. */
    if (t->code_global && tb->page[1] == ~0ULL) {
        t->jmp_global[i / 64] |= 1ULL << (i % 64);
    } else {
        t->jmp_global[i / 64] &= ~(1ULL << (i % 64));
    }
}

/* Every live SoftMMU: a page that gets translated code must lose the write tags that map it in all of them. */
static pthread_mutex_t softmmu_all_lock = PTHREAD_MUTEX_INITIALIZER;
static SoftMMU *softmmu_all;

void softmmu_init(SoftMMU *mmu, const SoftMMUTarget *target, const SoftMMUPhys *phys)
{
    mmu->target = target;
    mmu->phys = phys;
    for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
        /* The memory is not cleared yet. */
        mmu->tlb[m].used = true;
        for (unsigned i = 0; i < SOFTMMU_JMP_SIZE; i++) {
            softmmu_jmp_clear_slot(&mmu->tlb[m], i);
        }
        memset(mmu->tlb[m].jmp_filled, 0, sizeof(mmu->tlb[m].jmp_filled));
        memset(mmu->tlb[m].jmp_global, 0, sizeof(mmu->tlb[m].jmp_global));
        mmu->tlb[m].jmp_flags = 0;
    }
    softmmu_flush(mmu);
    pthread_mutex_lock(&softmmu_all_lock);
    mmu->next = softmmu_all;
    softmmu_all = mmu;
    pthread_mutex_unlock(&softmmu_all_lock);
}

void softmmu_destroy(SoftMMU *mmu)
{
    pthread_mutex_lock(&softmmu_all_lock);
    for (SoftMMU **p = &softmmu_all; *p; p = &(*p)->next) {
        if (*p == mmu) {
            *p = mmu->next;
            break;
        }
    }
    pthread_mutex_unlock(&softmmu_all_lock);
}

void softmmu_bind(SoftMMU *mmu, TCGCPU *cpu, int mmu_idx)
{
    cpu->mem_tlb = &mmu->tlb[mmu_idx];
}

void softmmu_flush(SoftMMU *mmu)
{
    for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
        if (mmu->tlb[m].used) {
            /* All ones: every tag SOFTMMU_TAG_INVALID (the addends do not matter then). */
            memset(mmu->tlb[m].e, 0xff, sizeof(mmu->tlb[m].e));
            memset(mmu->tlb[m].nonglobal, 0, sizeof(mmu->tlb[m].nonglobal));
            softmmu_jmp_clear_all(&mmu->tlb[m]);
            memset(mmu->victim[m], 0xff, sizeof(mmu->victim[m]));
            mmu->tlb[m].used = false;
        }
    }
}

void softmmu_flush_nonglobal(SoftMMU *mmu)
{
    for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
        SoftMMUTable *t = &mmu->tlb[m];
        if (!t->used) {
            continue;
        }
        for (unsigned w = 0; w < SOFTMMU_TLB_SIZE / 64; w++) {
            for (uint64_t bits = t->nonglobal[w]; bits; bits &= bits - 1) {
                SoftMMUEntry *e = &t->e[w * 64 + (unsigned)__builtin_ctzll(bits)];
                e->tag[0] = e->tag[1] = e->tag[2] = SOFTMMU_TAG_INVALID;
            }
            t->nonglobal[w] = 0;
        }
        for (unsigned v = 0; v < SOFTMMU_VICTIMS; v++) {
            if (!(mmu->victim_paddr[m][v] & SOFTMMU_PINFO_GLOBAL)) {
                SoftMMUEntry *e = &mmu->victim[m][v];
                e->tag[0] = e->tag[1] = e->tag[2] = SOFTMMU_TAG_INVALID;
            }
        }
        softmmu_jmp_clear_nonglobal(t);
    }
}

static inline unsigned softmmu_index(uint64_t vaddr)
{
    return (unsigned)((vaddr >> SOFTMMU_PAGE_BITS) & (SOFTMMU_TLB_SIZE - 1));
}

/* Whether a tag names this page (whatever its flags). */
static inline bool softmmu_tag_is(uint64_t tag, uint64_t page)
{
    return (tag & ~SOFTMMU_TAG_FLAGS) == page;
}

static void softmmu_entry_drop_page(SoftMMUEntry *e, uint64_t page)
{
    for (int k = 0; k < 3; k++) {
        if (softmmu_tag_is(e->tag[k], page)) {
            e->tag[0] = e->tag[1] = e->tag[2] = SOFTMMU_TAG_INVALID;
            return;
        }
    }
}

void softmmu_flush_page(SoftMMU *mmu, uint64_t vaddr)
{
    uint64_t page = vaddr & SOFTMMU_PAGE_MASK;
    for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
        softmmu_entry_drop_page(&mmu->tlb[m].e[softmmu_index(vaddr)], page);
        for (unsigned v = 0; v < SOFTMMU_VICTIMS; v++) {
            softmmu_entry_drop_page(&mmu->victim[m][v], page);
        }
    }
}

/* --- the code-page bitmap: two levels over 40 bits of physical address (1 TiB) --------------------- */

#define CODE_LEAF_PAGES (1u << 15)           /* pages per leaf: 128 MiB of guest memory */
#define CODE_TOP (1u << (40 - SOFTMMU_PAGE_BITS - 15))

static uint8_t *code_bitmap[CODE_TOP];

static uint8_t *code_leaf(uint64_t paddr, bool create)
{
    uint64_t pfn = paddr >> SOFTMMU_PAGE_BITS;
    uint64_t top = pfn / CODE_LEAF_PAGES;
    if (top >= CODE_TOP) {
        return NULL;
    }
    uint8_t *leaf = __atomic_load_n(&code_bitmap[top], __ATOMIC_ACQUIRE);
    if (!leaf && create) {
        uint8_t *fresh = g_malloc0(CODE_LEAF_PAGES / 8);
        uint8_t *expected = NULL;
        if (__atomic_compare_exchange_n(&code_bitmap[top], &expected, fresh, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            leaf = fresh;
        } else {
            g_free(fresh);
            leaf = expected;
        }
    }
    return leaf;
}

/* A page just got translated code: stores to it through any CPU's TLB must take the slow path from now on. */
static void softmmu_mark_code_page(uint64_t ppage)
{
    pthread_mutex_lock(&softmmu_all_lock);
    for (SoftMMU *mmu = softmmu_all; mmu; mmu = mmu->next) {
        for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
            /* Read racily: a table its owner is starting to use re-checks the bitmap itself (see the fill). */
            if (!__atomic_load_n(&mmu->tlb[m].used, __ATOMIC_RELAXED)) {
                continue;
            }
            for (unsigned i = 0; i < SOFTMMU_TLB_SIZE; i++) {
                if ((__atomic_load_n(&mmu->tlb[m].paddr[i], __ATOMIC_RELAXED) & ~SOFTMMU_PINFO_GLOBAL) == ppage) {
                    __atomic_fetch_or(&mmu->tlb[m].e[i].tag[SOFTMMU_WRITE], SOFTMMU_TAG_NOTDIRTY, __ATOMIC_RELAXED);
                }
            }
            for (unsigned v = 0; v < SOFTMMU_VICTIMS; v++) {
                if ((__atomic_load_n(&mmu->victim_paddr[m][v], __ATOMIC_RELAXED) & ~SOFTMMU_PINFO_GLOBAL) == ppage) {
                    __atomic_fetch_or(&mmu->victim[m][v].tag[SOFTMMU_WRITE], SOFTMMU_TAG_NOTDIRTY,
                                      __ATOMIC_RELAXED);
                }
            }
        }
    }
    pthread_mutex_unlock(&softmmu_all_lock);
}

void softmmu_code_page_set(uint64_t paddr, bool has_code)
{
    uint8_t *leaf = code_leaf(paddr, has_code);
    if (!leaf) {
        return;
    }
    uint64_t bit = (paddr >> SOFTMMU_PAGE_BITS) % CODE_LEAF_PAGES;
    uint8_t mask = (uint8_t)(1u << (bit & 7));
    if (has_code) {
        __atomic_fetch_or(&leaf[bit / 8], mask, __ATOMIC_SEQ_CST);
        /* The bit first, then the scan; a fill stores its entry first, then tests the bit (both with a
           full barrier between): either the fill sees the bit or this scan sees the entry. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        softmmu_mark_code_page(paddr & SOFTMMU_PAGE_MASK);
    } else {
        __atomic_fetch_and(&leaf[bit / 8], (uint8_t)~mask, __ATOMIC_RELEASE);
    }
}

bool softmmu_code_page_test(uint64_t paddr)
{
    uint64_t top = (paddr >> SOFTMMU_PAGE_BITS) / CODE_LEAF_PAGES;
    if (top < CODE_TOP && !__atomic_load_n(&code_bitmap[top], __ATOMIC_RELAXED)) {
        return false;   /* the common case: no code anywhere in this 128 MiB */
    }
    uint8_t *leaf = code_leaf(paddr, false);
    if (!leaf) {
        return false;
    }
    uint64_t bit = (paddr >> SOFTMMU_PAGE_BITS) % CODE_LEAF_PAGES;
    return (__atomic_load_n(&leaf[bit / 8], __ATOMIC_ACQUIRE) >> (bit & 7)) & 1;
}

void softmmu_notify_write(uint64_t paddr)
{
    if (softmmu_code_page_test(paddr)) {
        tb_invalidate_page(paddr & SOFTMMU_PAGE_MASK);
    }
}

static void softmmu_protect_hook(uint64_t page, bool protect)
{
    softmmu_code_page_set(page, protect);
}

static const TBPageHooks softmmu_page_hooks = {.protect = softmmu_protect_hook};

void softmmu_install_code_hooks(void)
{
    tb_set_page_hooks(&softmmu_page_hooks);
}

/* --- lookup and fill ------------------------------------------------------------------------------ */

/* A RAM page's write tag: flagged while the physical page holds translated code. */
static void softmmu_recheck_write_tag(SoftMMUEntry *e, uint64_t ppage);

static void softmmu_set_write_tag(SoftMMUEntry *e, uint64_t page, uint64_t ppage)
{
    e->tag[SOFTMMU_WRITE] = page | (softmmu_code_page_test(ppage) ? SOFTMMU_TAG_NOTDIRTY : 0);
    /* Pairs with softmmu_code_page_set: the tag is visible before the bit is tested again. */
    softmmu_recheck_write_tag(e, ppage);
}

/* After a write tag for RAM page ppage was stored some other way than softmmu_set_write_tag: the same
   re-check of the code-page bitmap. */
static void softmmu_recheck_write_tag(SoftMMUEntry *e, uint64_t ppage)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (softmmu_code_page_test(ppage)) {
        __atomic_fetch_or(&e->tag[SOFTMMU_WRITE], SOFTMMU_TAG_NOTDIRTY, __ATOMIC_RELAXED);
    }
}

static bool softmmu_entry_valid(const SoftMMUEntry *e)
{
    return e->tag[0] != SOFTMMU_TAG_INVALID || e->tag[1] != SOFTMMU_TAG_INVALID ||
           e->tag[2] != SOFTMMU_TAG_INVALID;
}

/* Entry idx got a new translation: whether softmmu_flush_nonglobal must drop it. */
static void softmmu_note_global(SoftMMUTable *t, unsigned idx)
{
    if (t->paddr[idx] & SOFTMMU_PINFO_GLOBAL) {
        t->nonglobal[idx / 64] &= ~(1ULL << (idx % 64));
    } else {
        t->nonglobal[idx / 64] |= 1ULL << (idx % 64);
    }
}

/* Exchange the table's entry at idx with victim v (both may be valid). */
static void softmmu_victim_swap(SoftMMU *mmu, int mmu_idx, unsigned idx, unsigned v)
{
    SoftMMUEntry *e = &mmu->tlb[mmu_idx].e[idx], *x = &mmu->victim[mmu_idx][v];
    SoftMMUEntry t = *e;
    uint64_t tp = mmu->tlb[mmu_idx].paddr[idx];
    __atomic_store_n(&mmu->tlb[mmu_idx].paddr[idx], mmu->victim_paddr[mmu_idx][v], __ATOMIC_RELAXED);
    *e = *x;
    __atomic_store_n(&mmu->victim_paddr[mmu_idx][v], tp, __ATOMIC_RELAXED);
    *x = t;
    softmmu_note_global(&mmu->tlb[mmu_idx], idx);
    /* A page that got code meanwhile may have been marked in neither place: look again. */
    if (e->tag[SOFTMMU_WRITE] != SOFTMMU_TAG_INVALID && !(mmu->tlb[mmu_idx].paddr[idx] & SOFTMMU_TAG_IO)) {
        softmmu_recheck_write_tag(e, mmu->tlb[mmu_idx].paddr[idx]);
    }
    if (x->tag[SOFTMMU_WRITE] != SOFTMMU_TAG_INVALID && !(tp & SOFTMMU_TAG_IO)) {
        softmmu_recheck_write_tag(x, tp);
    }
}

SoftMMUEntry *softmmu_lookup(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, SoftMMUAccess access, int mmu_idx,
                             bool probe)
{
    uint64_t page = vaddr & SOFTMMU_PAGE_MASK;
    unsigned idx = softmmu_index(vaddr);
    SoftMMUEntry *e = &mmu->tlb[mmu_idx].e[idx];
    bool hit = softmmu_tag_is(e->tag[access], page);
    for (unsigned v = 0; !hit && v < SOFTMMU_VICTIMS; v++) {
        if (softmmu_tag_is(mmu->victim[mmu_idx][v].tag[access], page)) {
            softmmu_victim_swap(mmu, mmu_idx, idx, v);
            hit = true;
        }
    }
    if (hit) {
        if (access == SOFTMMU_CODE) {
            mmu->tlb[mmu_idx].code_global = (mmu->tlb[mmu_idx].paddr[idx] & SOFTMMU_PINFO_GLOBAL) != 0;
        }
        return e;
    }
    uint64_t paddr;
    int prot;
    if (!mmu->target->walk(cpu, vaddr, access, mmu_idx, probe, &paddr, &prot)) {
        return NULL;
    }
    uint64_t ppage = paddr & SOFTMMU_PAGE_MASK;
    void *host = mmu->phys->ram_page(mmu->phys->opaque, ppage);
    uint64_t flags = host ? 0 : SOFTMMU_TAG_IO;
    uint64_t pinfo = ppage | (host ? 0 : SOFTMMU_PINFO_IO) | ((prot & SOFTMMU_PROT_GLOBAL) ? SOFTMMU_PINFO_GLOBAL : 0);
    bool same = (softmmu_tag_is(e->tag[0], page) || softmmu_tag_is(e->tag[1], page) ||
                 softmmu_tag_is(e->tag[2], page)) && mmu->tlb[mmu_idx].paddr[idx] == pinfo;
    if (!same && softmmu_entry_valid(e)) {
        /* A different page takes the slot: the old one becomes a victim, its tags do not carry over. */
        unsigned v = mmu->victim_next[mmu_idx]++ % SOFTMMU_VICTIMS;
        softmmu_victim_swap(mmu, mmu_idx, idx, v);
        e->tag[0] = e->tag[1] = e->tag[2] = SOFTMMU_TAG_INVALID;
    }
    __atomic_store_n(&mmu->tlb[mmu_idx].used, true, __ATOMIC_RELAXED);
    __atomic_store_n(&mmu->tlb[mmu_idx].paddr[idx], pinfo, __ATOMIC_RELAXED);
    softmmu_note_global(&mmu->tlb[mmu_idx], idx);
    if (access == SOFTMMU_CODE) {
        mmu->tlb[mmu_idx].code_global = (pinfo & SOFTMMU_PINFO_GLOBAL) != 0;
    }
    e->addend = host ? (uintptr_t)host - (uintptr_t)page : 0;
    /* The walk granted what was asked for, even if prot forgot it. */
    prot |= access == SOFTMMU_READ ? SOFTMMU_PROT_READ : access == SOFTMMU_WRITE ? SOFTMMU_PROT_WRITE
                                                                                 : SOFTMMU_PROT_EXEC;
    if (prot & SOFTMMU_PROT_READ) {
        e->tag[SOFTMMU_READ] = page | flags;
    }
    if (prot & SOFTMMU_PROT_EXEC) {
        e->tag[SOFTMMU_CODE] = page | flags;
    }
    if (prot & SOFTMMU_PROT_WRITE) {
        if (host) {
            softmmu_set_write_tag(e, page, ppage);
        } else {
            e->tag[SOFTMMU_WRITE] = page | flags;
        }
    }
    return e;
}

static uint64_t softmmu_host_ld(const void *p, unsigned size)
{
    switch (size) {
    case 1: return *(const uint8_t *)p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static uint64_t softmmu_sext(uint64_t v, TCGMemOp mo)
{
    unsigned bits = 8u << (mo & MO_SIZE);
    if ((mo & MO_SIGN) && bits < 64) {
        unsigned sh = 64 - bits;
        v = (uint64_t)((int64_t)(v << sh) >> sh);
    }
    return v;
}

/* One access inside one page. */
static uint64_t softmmu_ld_page(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, unsigned size, int mmu_idx,
                                SoftMMUAccess access)
{
    SoftMMUEntry *e = softmmu_lookup(mmu, cpu, vaddr, access, mmu_idx, false);
    if (softmmu_entry_io(mmu, e)) {
        return mmu->phys->io_read(mmu->phys->opaque, softmmu_entry_paddr(mmu, e) | (vaddr & ~SOFTMMU_PAGE_MASK),
                                  size);
    }
    return softmmu_host_ld((const void *)(uintptr_t)(vaddr + e->addend), size);
}

/* A store is about to reach a RAM page through e: drop the page's translated code, and once it has none,
   let later stores through this entry take the fast path again. */
static void softmmu_store_prepare(SoftMMU *mmu, SoftMMUEntry *e, uint64_t vaddr)
{
    uint64_t ppage = softmmu_entry_paddr(mmu, e);
    softmmu_notify_write(ppage);
    uint64_t tag = __atomic_load_n(&e->tag[SOFTMMU_WRITE], __ATOMIC_RELAXED);
    if ((tag & SOFTMMU_TAG_NOTDIRTY) && softmmu_tag_is(tag, vaddr & SOFTMMU_PAGE_MASK)) {
        softmmu_set_write_tag(e, vaddr & SOFTMMU_PAGE_MASK, ppage);
    }
}

static void softmmu_st_page(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, uint64_t value, unsigned size,
                            int mmu_idx)
{
    SoftMMUEntry *e = softmmu_lookup(mmu, cpu, vaddr, SOFTMMU_WRITE, mmu_idx, false);
    if (softmmu_entry_io(mmu, e)) {
        mmu->phys->io_write(mmu->phys->opaque, softmmu_entry_paddr(mmu, e) | (vaddr & ~SOFTMMU_PAGE_MASK), value,
                            size);
        return;
    }
    softmmu_store_prepare(mmu, e, vaddr);
    memcpy((void *)(uintptr_t)(vaddr + e->addend), &value, size);
}

/* A load of `mo` from a host address (fixed sizes, so no memcpy call). */
static inline uint64_t softmmu_host_load(const void *p, TCGMemOp mo)
{
    switch (mo & 7) {
    case MO_8: return *(const uint8_t *)p;
    case MO_16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case MO_32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case MO_S8: return (uint64_t)(int64_t)*(const int8_t *)p;
    case MO_S16: { int16_t v; memcpy(&v, p, 2); return (uint64_t)(int64_t)v; }
    case MO_S32: { int32_t v; memcpy(&v, p, 4); return (uint64_t)(int64_t)v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static inline void softmmu_host_store(void *p, uint64_t v, TCGMemOp mo)
{
    switch (mo & MO_SIZE) {
    case MO_8: *(uint8_t *)p = (uint8_t)v; break;
    case MO_16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case MO_32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    default: memcpy(p, &v, 8); break;
    }
}

static __attribute__((noinline)) uint64_t softmmu_ld_slow(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, TCGMemOp mo,
                                                          int mmu_idx)
{
    unsigned size = 1u << (mo & MO_SIZE);
    uint64_t off = vaddr & ~SOFTMMU_PAGE_MASK;
    if (off + size <= SOFTMMU_PAGE_SIZE) {
        return softmmu_sext(softmmu_ld_page(mmu, cpu, vaddr, size, mmu_idx, SOFTMMU_READ), mo);
    }
    uint8_t buf[8];
    softmmu_read(mmu, cpu, vaddr, buf, size, SOFTMMU_READ, mmu_idx);
    return softmmu_sext(softmmu_host_ld(buf, size), mo);
}

uint64_t softmmu_ld(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, TCGMemOp mo, int mmu_idx)
{
    /* The hit path: a RAM page already in the TLB, the access inside it. */
    const SoftMMUEntry *e = &mmu->tlb[mmu_idx].e[softmmu_index(vaddr)];
    unsigned size = 1u << (mo & MO_SIZE);
    /* The tag of an MMIO page never equals a page address. */
    if (__builtin_expect(e->tag[SOFTMMU_READ] == (vaddr & SOFTMMU_PAGE_MASK) &&
                             (vaddr & ~SOFTMMU_PAGE_MASK) + size <= SOFTMMU_PAGE_SIZE, 1)) {
        return softmmu_host_load((const void *)(uintptr_t)(vaddr + e->addend), mo);
    }
    return softmmu_ld_slow(mmu, cpu, vaddr, mo, mmu_idx);
}

static __attribute__((noinline)) void softmmu_st_slow(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, uint64_t value,
                                                      TCGMemOp mo, int mmu_idx)
{
    unsigned size = 1u << (mo & MO_SIZE);
    uint64_t off = vaddr & ~SOFTMMU_PAGE_MASK;
    if (off + size <= SOFTMMU_PAGE_SIZE) {
        softmmu_st_page(mmu, cpu, vaddr, value, size, mmu_idx);
        return;
    }
    softmmu_write(mmu, cpu, vaddr, &value, size, mmu_idx);
}

void softmmu_st(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, uint64_t value, TCGMemOp mo, int mmu_idx)
{
    const SoftMMUEntry *e = &mmu->tlb[mmu_idx].e[softmmu_index(vaddr)];
    unsigned size = 1u << (mo & MO_SIZE);
    /* Nor does the write tag of a page with translated code (SOFTMMU_TAG_NOTDIRTY). */
    if (__builtin_expect(e->tag[SOFTMMU_WRITE] == (vaddr & SOFTMMU_PAGE_MASK) &&
                             (vaddr & ~SOFTMMU_PAGE_MASK) + size <= SOFTMMU_PAGE_SIZE, 1)) {
        softmmu_host_store((void *)(uintptr_t)(vaddr + e->addend), value, mo);
        return;
    }
    softmmu_st_slow(mmu, cpu, vaddr, value, mo, mmu_idx);
}

void softmmu_read(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, void *buf, uint64_t len, SoftMMUAccess access,
                  int mmu_idx)
{
    uint8_t *out = buf;
    while (len) {
        uint64_t off = vaddr & ~SOFTMMU_PAGE_MASK;
        uint64_t n = SOFTMMU_PAGE_SIZE - off < len ? SOFTMMU_PAGE_SIZE - off : len;
        SoftMMUEntry *e = softmmu_lookup(mmu, cpu, vaddr, access, mmu_idx, false);
        if (softmmu_entry_io(mmu, e)) {
            for (uint64_t i = 0; i < n; i++) {
                out[i] = (uint8_t)mmu->phys->io_read(mmu->phys->opaque, softmmu_entry_paddr(mmu, e) | (off + i), 1);
            }
        } else {
            memcpy(out, (const void *)(uintptr_t)(vaddr + e->addend), n);
        }
        out += n;
        vaddr += n;
        len -= n;
    }
}

void softmmu_write(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, const void *buf, uint64_t len, int mmu_idx)
{
    /* Check every page first: a fault on the second page must leave the first one unwritten. */
    for (uint64_t a = vaddr & SOFTMMU_PAGE_MASK; a < vaddr + len; a += SOFTMMU_PAGE_SIZE) {
        softmmu_lookup(mmu, cpu, a < vaddr ? vaddr : a, SOFTMMU_WRITE, mmu_idx, false);
    }
    const uint8_t *in = buf;
    while (len) {
        uint64_t off = vaddr & ~SOFTMMU_PAGE_MASK;
        uint64_t n = SOFTMMU_PAGE_SIZE - off < len ? SOFTMMU_PAGE_SIZE - off : len;
        SoftMMUEntry *e = softmmu_lookup(mmu, cpu, vaddr, SOFTMMU_WRITE, mmu_idx, false);
        if (softmmu_entry_io(mmu, e)) {
            for (uint64_t i = 0; i < n; i++) {
                mmu->phys->io_write(mmu->phys->opaque, softmmu_entry_paddr(mmu, e) | (off + i), in[i], 1);
            }
        } else {
            softmmu_store_prepare(mmu, e, vaddr);
            memcpy((void *)(uintptr_t)(vaddr + e->addend), in, n);
        }
        in += n;
        vaddr += n;
        len -= n;
    }
}

void *softmmu_host_ptr(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, uint64_t len, SoftMMUAccess access,
                       int mmu_idx, bool probe)
{
    if ((vaddr & ~SOFTMMU_PAGE_MASK) + len > SOFTMMU_PAGE_SIZE) {
        return NULL;
    }
    SoftMMUEntry *e = softmmu_lookup(mmu, cpu, vaddr, access, mmu_idx, probe);
    if (!e || softmmu_entry_io(mmu, e)) {
        return NULL;
    }
    if (access == SOFTMMU_WRITE) {
        softmmu_store_prepare(mmu, e, vaddr);
    }
    return (void *)(uintptr_t)(vaddr + e->addend);
}
