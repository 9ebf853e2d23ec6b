/*
 * The soft-MMU's TLB, its slow paths, and the bitmap of guest-physical pages that hold translated code.
 * See softmmu.h.
 */
#include "core/tcg/softmmu.h"

#include <string.h>

#include <glib.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/tb.h"

void softmmu_init(SoftMMU *mmu, const SoftMMUTarget *target, const SoftMMUPhys *phys)
{
    mmu->target = target;
    mmu->phys = phys;
    softmmu_flush(mmu);
}

void softmmu_flush(SoftMMU *mmu)
{
    for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
        for (unsigned i = 0; i < SOFTMMU_TLB_SIZE; i++) {
            SoftMMUEntry *e = &mmu->tlb[m][i];
            e->tag[0] = e->tag[1] = e->tag[2] = SOFTMMU_TAG_INVALID;
        }
    }
}

static inline unsigned softmmu_index(uint64_t vaddr)
{
    return (unsigned)((vaddr >> SOFTMMU_PAGE_BITS) & (SOFTMMU_TLB_SIZE - 1));
}

void softmmu_flush_page(SoftMMU *mmu, uint64_t vaddr)
{
    uint64_t page = vaddr & SOFTMMU_PAGE_MASK;
    for (int m = 0; m < SOFTMMU_NB_MMU_MODES; m++) {
        SoftMMUEntry *e = &mmu->tlb[m][softmmu_index(vaddr)];
        for (int k = 0; k < 3; k++) {
            if (e->tag[k] == page) {
                e->tag[0] = e->tag[1] = e->tag[2] = SOFTMMU_TAG_INVALID;
                break;
            }
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

void softmmu_code_page_set(uint64_t paddr, bool has_code)
{
    uint8_t *leaf = code_leaf(paddr, has_code);
    if (!leaf) {
        return;
    }
    uint64_t bit = (paddr >> SOFTMMU_PAGE_BITS) % CODE_LEAF_PAGES;
    uint8_t mask = (uint8_t)(1u << (bit & 7));
    if (has_code) {
        __atomic_fetch_or(&leaf[bit / 8], mask, __ATOMIC_RELEASE);
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

SoftMMUEntry *softmmu_lookup(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, SoftMMUAccess access, int mmu_idx,
                             bool probe)
{
    uint64_t page = vaddr & SOFTMMU_PAGE_MASK;
    SoftMMUEntry *e = &mmu->tlb[mmu_idx][softmmu_index(vaddr)];
    if (e->tag[access] == page) {
        return e;
    }
    uint64_t paddr;
    int prot;
    if (!mmu->target->walk(cpu, vaddr, access, mmu_idx, probe, &paddr, &prot)) {
        return NULL;
    }
    uint64_t ppage = paddr & SOFTMMU_PAGE_MASK;
    bool same = (e->tag[0] == page || e->tag[1] == page || e->tag[2] == page) && e->paddr == ppage;
    if (!same) {
        /* A different page takes the slot: its other tags do not carry over. */
        e->tag[0] = e->tag[1] = e->tag[2] = SOFTMMU_TAG_INVALID;
    }
    void *host = mmu->phys->ram_page(mmu->phys->opaque, ppage);
    e->paddr = ppage;
    e->io = host == NULL;
    e->addend = host ? (uintptr_t)host - (uintptr_t)page : 0;
    if (prot & SOFTMMU_PROT_READ) {
        e->tag[SOFTMMU_READ] = page;
    }
    if (prot & SOFTMMU_PROT_WRITE) {
        e->tag[SOFTMMU_WRITE] = page;
    }
    if (prot & SOFTMMU_PROT_EXEC) {
        e->tag[SOFTMMU_CODE] = page;
    }
    /* The walk granted what was asked for, even if prot forgot it. */
    e->tag[access] = page;
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
    if (e->io) {
        return mmu->phys->io_read(mmu->phys->opaque, e->paddr | (vaddr & ~SOFTMMU_PAGE_MASK), size);
    }
    return softmmu_host_ld((const void *)(uintptr_t)(vaddr + e->addend), size);
}

static void softmmu_st_page(SoftMMU *mmu, TCGCPU *cpu, uint64_t vaddr, uint64_t value, unsigned size,
                            int mmu_idx)
{
    SoftMMUEntry *e = softmmu_lookup(mmu, cpu, vaddr, SOFTMMU_WRITE, mmu_idx, false);
    if (e->io) {
        mmu->phys->io_write(mmu->phys->opaque, e->paddr | (vaddr & ~SOFTMMU_PAGE_MASK), value, size);
        return;
    }
    softmmu_notify_write(e->paddr);
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
    const SoftMMUEntry *e = &mmu->tlb[mmu_idx][softmmu_index(vaddr)];
    unsigned size = 1u << (mo & MO_SIZE);
    if (__builtin_expect(e->tag[SOFTMMU_READ] == (vaddr & SOFTMMU_PAGE_MASK) && !e->io &&
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
    const SoftMMUEntry *e = &mmu->tlb[mmu_idx][softmmu_index(vaddr)];
    unsigned size = 1u << (mo & MO_SIZE);
    if (__builtin_expect(e->tag[SOFTMMU_WRITE] == (vaddr & SOFTMMU_PAGE_MASK) && !e->io &&
                             (vaddr & ~SOFTMMU_PAGE_MASK) + size <= SOFTMMU_PAGE_SIZE &&
                             !softmmu_code_page_test(e->paddr), 1)) {
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
        if (e->io) {
            for (uint64_t i = 0; i < n; i++) {
                out[i] = (uint8_t)mmu->phys->io_read(mmu->phys->opaque, e->paddr | (off + i), 1);
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
        if (e->io) {
            for (uint64_t i = 0; i < n; i++) {
                mmu->phys->io_write(mmu->phys->opaque, e->paddr | (off + i), in[i], 1);
            }
        } else {
            softmmu_notify_write(e->paddr);
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
    if (!e || e->io) {
        return NULL;
    }
    if (access == SOFTMMU_WRITE) {
        softmmu_notify_write(e->paddr);
    }
    return (void *)(uintptr_t)(vaddr + e->addend);
}
