/*
 * Paging for a system CPU: the page walk the soft-MMU calls on a TLB miss (4-level long mode, PAE and
 * 32-bit with 4 MiB pages; Intel SDM vol. 3, chapter 4), the guest memory ops every translated load and
 * store goes through (TCGCPU.mem), code fetch for the translator, and the state's creation.
 */
#include <glib.h>
#include <string.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/sys.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

#define PF_P (1u << 0)
#define PF_W (1u << 1)
#define PF_U (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I (1u << 4)

static CPUX86State *x86_env_of(TCGCPU *cpu) { return (CPUX86State *)cpu; }

/* A page-table entry's host address (NULL: not RAM; treated as not present). */
static void *x86_pte_ptr(X86SysState *sys, uint64_t paddr)
{
    uint8_t *page = sys->mmu.phys->ram_page(sys->mmu.phys->opaque, paddr & ~0xfffull);
    return page ? page + (paddr & 0xfff) : NULL;
}

static uint64_t x86_pte_read(void *p, bool wide)
{
    if (!p) {
        return 0;
    }
    return wide ? __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED) : __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
}

static void x86_pte_set(void *p, bool wide, uint64_t bits)
{
    if (wide) {
        __atomic_fetch_or((uint64_t *)p, bits, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_or((uint32_t *)p, (uint32_t)bits, __ATOMIC_RELAXED);
    }
}

static bool x86_page_fault(CPUX86State *env, uint64_t vaddr, uint32_t err, bool probe)
{
    if (probe) {
        return false;
    }
    env->sys->cr2 = vaddr;
    x86_raise_exception(env, EXCP_PF, (int)err, vaddr);
}

static bool x86_walk(TCGCPU *cpu, uint64_t vaddr, SoftMMUAccess access, int mmu_idx, bool probe, uint64_t *paddr,
                     int *prot)
{
    CPUX86State *env = x86_env_of(cpu);
    X86SysState *sys = env->sys;
    bool lma = sys->efer & (1ull << 10);
    if (!(sys->cr0 & (1ull << 31))) {
        *paddr = lma ? vaddr : (vaddr & 0xffffffffu);
        *prot = SOFTMMU_PROT_READ | SOFTMMU_PROT_WRITE | SOFTMMU_PROT_EXEC;
        return true;
    }
    bool user = mmu_idx == X86_MMU_USER;
    bool write = access == SOFTMMU_WRITE;
    bool exec = access == SOFTMMU_CODE;
    bool nxe = sys->efer & (1ull << 11);
    uint32_t err = (write ? PF_W : 0) | (user ? PF_U : 0) | (exec && nxe ? PF_I : 0);

    bool wide, pae = sys->cr4 & (1ull << 5);
    int shifts[4], nlevels;
    uint64_t table;
    if (lma) {
        /* Non-canonical addresses are #GP, not #PF. */
        if ((uint64_t)(((int64_t)vaddr << 16) >> 16) != vaddr) {
            if (probe) {
                return false;
            }
            x86_raise_exception(env, EXCP_GP, 0, vaddr);
        }
        wide = true;
        nlevels = 4;
        shifts[0] = 39, shifts[1] = 30, shifts[2] = 21, shifts[3] = 12;
        table = sys->cr3 & PTE_ADDR;
    } else if (pae) {
        vaddr &= 0xffffffffu;
        wide = true;
        /* The PDPTE: only P matters (no rights bits at this level). */
        uint64_t pdpte = x86_pte_read(x86_pte_ptr(sys, (sys->cr3 & 0xffffffe0u) + ((vaddr >> 30) & 3) * 8), true);
        if (!(pdpte & PTE_P)) {
            return x86_page_fault(env, vaddr, err, probe);
        }
        nlevels = 2;
        shifts[0] = 21, shifts[1] = 12;
        table = pdpte & PTE_ADDR;
    } else {
        vaddr &= 0xffffffffu;
        wide = false;
        nlevels = 2;
        shifts[0] = 22, shifts[1] = 12;
        table = sys->cr3 & 0xfffff000u;
    }

    /* Bits a present 64-bit entry must leave clear (SDM vol. 3 §4.5): physical address bits at or above
       MAXPHYADDR, and NX while EFER.NXE is off. Set, they are a page fault with RSVD. */
    const X86CPUModel *model = env->model ? env->model : x86_cpu_model_find(NULL);
    unsigned maxphy = model->addr_sizes & 0xff;
    uint64_t rsvd = (maxphy < 52 ? ((1ull << 52) - 1) & ~((1ull << maxphy) - 1) : 0) | (nxe ? 0 : PTE_NX);

    bool w_ok = true, u_ok = true, x_ok = true;
    uint64_t pte = 0;
    void *pte_p = NULL;
    uint64_t page_mask = 0xfff;
    for (int level = 0; level < nlevels; level++) {
        unsigned bits = wide ? 9 : 10;
        uint64_t idx = (vaddr >> shifts[level]) & ((1u << bits) - 1);
        pte_p = x86_pte_ptr(sys, table + idx * (wide ? 8 : 4));
        pte = x86_pte_read(pte_p, wide);
        if (!(pte & PTE_P)) {
            return x86_page_fault(env, vaddr, err, probe);
        }
        /* PS is reserved in a PML4 entry; a large page's address bits below its size (above PAT) too. */
        bool large_rsvd = (pte & PTE_PS) && level + 1 < nlevels &&
                          (shifts[level] > 30 || (pte & ((1ull << shifts[level]) - 1) & ~0x1fffull));
        if (wide && ((pte & rsvd) || large_rsvd)) {
            return x86_page_fault(env, vaddr, err | PF_P | PF_RSVD, probe);
        }
        w_ok &= (pte & PTE_W) != 0;
        u_ok &= (pte & PTE_U) != 0;
        if (wide && nxe && (pte & PTE_NX)) {
            x_ok = false;
        }
        bool last = level == nlevels - 1;
        bool large = !last && (pte & PTE_PS) && shifts[level] <= 30 && (wide || (sys->cr4 & (1ull << 4)));
        if (last || large) {
            page_mask = (1ull << shifts[level]) - 1;
            break;
        }
        if (!(pte & PTE_A)) {
            x86_pte_set(pte_p, wide, PTE_A);
        }
        table = wide ? (pte & PTE_ADDR) : (pte & 0xfffff000u);
    }

    bool wp = sys->cr0 & (1ull << 16);
    bool can_write = user ? (w_ok && u_ok) : (w_ok || !wp);
    bool can_read = !user || u_ok;
    bool can_exec = x_ok && (!user || u_ok);
    bool ok = write ? can_write : exec ? can_exec : can_read;
    if (!ok) {
        return x86_page_fault(env, vaddr, err | PF_P, probe);
    }
    uint64_t set = PTE_A | (write ? PTE_D : 0);
    if ((pte & set) != set) {
        x86_pte_set(pte_p, wide, set);
        pte |= set;
    }
    uint64_t frame;
    if (page_mask == 0xfff) {
        frame = wide ? (pte & PTE_ADDR) : (pte & 0xfffff000u);
    } else if (wide) {
        frame = pte & PTE_ADDR & ~page_mask;
    } else {
        /* A 4 MiB page: bits 13..20 of the PDE are physical address bits 32..39 (PSE-36). */
        frame = (pte & 0xffc00000u) | (((pte >> 13) & 0xff) << 32);
    }
    *paddr = frame | (vaddr & page_mask);
    *prot = (can_read ? SOFTMMU_PROT_READ : 0) | (can_write && (pte & PTE_D) ? SOFTMMU_PROT_WRITE : 0) |
            (can_exec ? SOFTMMU_PROT_EXEC : 0) |
            ((pte & PTE_G) && (sys->cr4 & (1ull << 7)) ? SOFTMMU_PROT_GLOBAL : 0);   /* CR4.PGE */
    return true;
}

int x86_sys_mmu_index(CPUX86State *env)
{
    return env->sys->cpl == 3 ? X86_MMU_USER : X86_MMU_KERNEL;
}

static int x86_mmu_index_cb(TCGCPU *cpu) { return x86_sys_mmu_index(x86_env_of(cpu)); }

static const SoftMMUTarget x86_softmmu_target = {.walk = x86_walk, .mmu_index = x86_mmu_index_cb};

/* Outside long mode, linear addresses wrap at 4 GiB. */
static inline uint64_t x86_linear(const CPUX86State *env, uint64_t addr)
{
    return (env->sys->efer & (1ull << 10)) ? addr : (addr & 0xffffffffu);
}

uint64_t x86_sys_ld(CPUX86State *env, uint64_t vaddr, unsigned size, int mmu_idx)
{
    TCGMemOp mo = size == 1 ? MO_8 : size == 2 ? MO_16 : size == 4 ? MO_32 : MO_64;
    return softmmu_ld(&env->sys->mmu, &env->tcg, x86_linear(env, vaddr), mo, mmu_idx);
}

void x86_sys_st(CPUX86State *env, uint64_t vaddr, uint64_t value, unsigned size, int mmu_idx)
{
    TCGMemOp mo = size == 1 ? MO_8 : size == 2 ? MO_16 : size == 4 ? MO_32 : MO_64;
    softmmu_st(&env->sys->mmu, &env->tcg, x86_linear(env, vaddr), value, mo, mmu_idx);
}

static uint64_t x86_mem_load(TCGCPU *cpu, uint64_t addr, TCGMemOp mo)
{
    CPUX86State *env = x86_env_of(cpu);
    return softmmu_ld(&env->sys->mmu, cpu, x86_linear(env, addr), mo, x86_sys_mmu_index(env));
}

static void x86_mem_store(TCGCPU *cpu, uint64_t addr, uint64_t value, TCGMemOp mo)
{
    CPUX86State *env = x86_env_of(cpu);
    softmmu_st(&env->sys->mmu, cpu, x86_linear(env, addr), value, mo, x86_sys_mmu_index(env));
}

static void x86_mem_load128(TCGCPU *cpu, uint64_t addr, void *dst)
{
    CPUX86State *env = x86_env_of(cpu);
    softmmu_read(&env->sys->mmu, cpu, x86_linear(env, addr), dst, 16, SOFTMMU_READ, x86_sys_mmu_index(env));
}

static void x86_mem_store128(TCGCPU *cpu, uint64_t addr, const void *src)
{
    CPUX86State *env = x86_env_of(cpu);
    softmmu_write(&env->sys->mmu, cpu, x86_linear(env, addr), src, 16, x86_sys_mmu_index(env));
}

static const TCGMemOps x86_sys_mem_ops = {
    .load = x86_mem_load,
    .store = x86_mem_store,
    .load128 = x86_mem_load128,
    .store128 = x86_mem_store128,
};

size_t x86_sys_fetch_code(CPUX86State *env, uint64_t linear, uint8_t *buf, size_t len, bool fault)
{
    X86SysState *sys = env->sys;
    int idx = x86_sys_mmu_index(env);
    size_t done = 0;
    while (done < len) {
        uint64_t a = x86_linear(env, linear + done);
        size_t n = (size_t)(SOFTMMU_PAGE_SIZE - (a & ~SOFTMMU_PAGE_MASK));
        if (n > len - done) {
            n = len - done;
        }
        SoftMMUEntry *e = softmmu_lookup(&sys->mmu, &env->tcg, a, SOFTMMU_CODE, idx, !(fault && done == 0));
        if (!e) {
            break;
        }
        if (softmmu_entry_io(&sys->mmu, e)) {
            uint64_t ppage = softmmu_entry_paddr(&sys->mmu, e);
            for (size_t i = 0; i < n; i++) {
                buf[done + i] = (uint8_t)sys->mmu.phys->io_read(sys->mmu.phys->opaque,
                                                                ppage | ((a + i) & ~SOFTMMU_PAGE_MASK), 1);
            }
        } else {
            memcpy(buf + done, (const void *)(uintptr_t)(a + e->addend), n);
        }
        done += n;
    }
    return done;
}

uint64_t x86_sys_code_paddr(CPUX86State *env, uint64_t linear)
{
    uint64_t a = x86_linear(env, linear);
    SoftMMUEntry *e = softmmu_lookup(&env->sys->mmu, &env->tcg, a, SOFTMMU_CODE, x86_sys_mmu_index(env), true);
    return e ? softmmu_entry_paddr(&env->sys->mmu, e) | (a & ~SOFTMMU_PAGE_MASK) : ~0ull;
}

void x86_sys_tlb_flush(CPUX86State *env)
{
    softmmu_flush(&env->sys->mmu);
}

void x86_sys_tlb_flush_nonglobal(CPUX86State *env)
{
    softmmu_flush_nonglobal(&env->sys->mmu);
}

void x86_sys_tlb_flush_page(CPUX86State *env, uint64_t vaddr)
{
    uint64_t lin = x86_linear(env, vaddr);
    softmmu_flush_page(&env->sys->mmu, lin);
    /* The jump cache is keyed by EIP (linear minus the CS base; the neighbouring pages go too). */
    softmmu_jmp_flush_page(&env->sys->mmu, x86_linear(env, (lin & SOFTMMU_PAGE_MASK) - env->seg_base[R_CS]));
}

void *x86_sys_host_ptr(CPUX86State *env, uint64_t vaddr, uint64_t len, bool write)
{
    return softmmu_host_ptr(&env->sys->mmu, &env->tcg, x86_linear(env, vaddr), len,
                            write ? SOFTMMU_WRITE : SOFTMMU_READ, x86_sys_mmu_index(env), false);
}

void x86_sys_read(CPUX86State *env, uint64_t vaddr, void *buf, uint64_t len)
{
    softmmu_read(&env->sys->mmu, &env->tcg, x86_linear(env, vaddr), buf, len, SOFTMMU_READ, x86_sys_mmu_index(env));
}

void x86_sys_write(CPUX86State *env, uint64_t vaddr, const void *buf, uint64_t len)
{
    softmmu_write(&env->sys->mmu, &env->tcg, x86_linear(env, vaddr), buf, len, x86_sys_mmu_index(env));
}

uint64_t x86_sys_with_mem(CPUX86State *env, uint64_t vaddr, uint32_t len, bool read, bool write, X86MemFn fn,
                          void *opaque)
{
    uint64_t a = x86_linear(env, vaddr);
    if (len == 0) {
        return fn(env, NULL, opaque);
    }
    void *p = softmmu_host_ptr(&env->sys->mmu, &env->tcg, a, len, write ? SOFTMMU_WRITE : SOFTMMU_READ,
                               x86_sys_mmu_index(env), false);
    if (p) {
        return fn(env, p, opaque);
    }
    /* The bounce keeps the operand's alignment within 64 bytes (alignment checks look at the pointer). */
    /* Per thread, not allocated: fn may leave through a guest exception. */
    static __thread uint8_t bounce[4096 + 64] __attribute__((aligned(64)));
    if (len > sizeof(bounce) - 64) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    uint8_t *buf = bounce + (a & 63);
    if (write) {
        /* Check every page for writing first, so a fault leaves memory as it was. */
        for (uint64_t pg = a & SOFTMMU_PAGE_MASK; pg < a + len; pg += SOFTMMU_PAGE_SIZE) {
            softmmu_lookup(&env->sys->mmu, &env->tcg, pg < a ? a : pg, SOFTMMU_WRITE, x86_sys_mmu_index(env), false);
        }
    }
    /* Bytes the instruction does not write must come back unchanged: start from memory's contents. */
    softmmu_read(&env->sys->mmu, &env->tcg, a, buf, len, SOFTMMU_READ, x86_sys_mmu_index(env));
    (void)read;
    uint64_t r = fn(env, buf, opaque);
    if (write) {
        softmmu_write(&env->sys->mmu, &env->tcg, a, buf, len, x86_sys_mmu_index(env));
    }
    return r;
}

void x86_sys_init(CPUX86State *env, const X86SysCallbacks *cb, const SoftMMUPhys *phys, void *owner)
{
    X86SysState *sys = g_new0(X86SysState, 1);
    sys->cb = cb;
    sys->owner = owner;
    softmmu_init(&sys->mmu, &x86_softmmu_target, phys);
    env->sys = sys;
    env->tcg.mem = &x86_sys_mem_ops;
    x86_sys_reset(env);
}

void x86_sys_free(CPUX86State *env)
{
    softmmu_destroy(&env->sys->mmu);
    g_free(env->sys);
    env->sys = NULL;
    env->tcg.mem = NULL;
}

void x86_sys_reset(CPUX86State *env)
{
    X86SysState *sys = env->sys;
    /* Everything up to the owner, its callbacks and the soft-MMU (the last fields) starts at zero. */
    memset(sys, 0, offsetof(X86SysState, owner));
    softmmu_flush(&sys->mmu);

    memset(env->regs, 0, sizeof(env->regs));
    env->cc_op = 0;
    env->cc_src = env->cc_dst = env->cc_src2 = 0;
    env->eflags = 0x2;
    env->df = 1;
    sys->cr0 = 0x60000010;   /* CD, NW, ET */
    sys->pat = 0x0007040600070406ull;
    /*
     * IA32_MISC_ENABLE: fast strings on, as firmware leaves it on every Intel CPU. At 0, Linux on an Intel
     * vendor clears ERMS ("Disabled fast string operations") but keeps FSRM, and its memmove with FSRM and
     * no ERMS drops the short-length check without taking the REP MOVSB path: copies under 32 bytes run
     * away through memory. The KVM accelerator sets the same value (system/kvm/kvm-run.c).
     */
    sys->misc_enable = X86_MISC_ENABLE_FAST_STRINGS;
    sys->idt_limit = 0xffff;
    sys->gdt_limit = 0xffff;
    sys->ldtr.limit = sys->tr.limit = 0xffff;
    sys->ldtr.attr = 0x82;   /* present LDT */
    sys->tr.attr = 0x8b;     /* present busy 32-bit TSS */
    for (int s = 0; s < X86_NB_SEGS; s++) {
        x86_sys_set_seg(env, s, 0, 0, 0xffff, s == R_CS ? 0x9b : 0x93);
    }
    x86_sys_set_seg(env, R_CS, 0xf000, 0xffff0000u, 0xffff, 0x9b);
    env->tcg.pc = 0xfff0;
    x86_fpu_reset(env);
    env->fx.fcw = 0x40;      /* the x87 control word after RESET */
    env->xcr0 = 1;
    x86_sys_update_hflags(env);
}
