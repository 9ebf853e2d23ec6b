/*
 * The REP string helpers: REP MOVS, STOS, LODS and REPE/REPNE CMPS, SCAS in all element sizes.
 *
 * Two rules shape them:
 *  - Speed for REP MOVSB/STOSB over large counts: in user mode (guest addresses are host addresses) they
 *    copy or fill whole runs with memmove/memset instead of one element at a time.
 *  - Restartability: a fault (or a write to translated code, which restarts the instruction) must find
 *    RCX/RSI/RDI describing exactly the work that is left. So work proceeds in chunks that each stay
 *    inside one page of the source and one page of the destination: the first access to a page is the
 *    only one that can fault, so a chunk that faults has written nothing, and the registers are written
 *    back after every chunk.
 *
 * Overlap: the architecture defines REP MOVS element by element. When the destination lies ahead of the
 * source in the direction of travel and closer than the run, an element may read bytes an earlier element
 * wrote (the classic "rep movsb with rdi = rsi + 1" fill). Chunks are then cut to at most the distance
 * between the two, so no chunk reads what it writes itself and memmove gives the element-wise result.
 *
 * Fault reports: the first element of every chunk is moved on its own before the rest goes in bulk, so
 * the first access to a new page is that element's, and a fault names the address the hardware would.
 *
 * REPE/REPNE CMPS and SCAS set the flags of their last comparison (as CC_OP_SUB, see cc.h) when the run
 * ends. RCX = 0 compares nothing and leaves the flags alone. What a fault half-way shows depends on the
 * vendor (below).
 *
 * Vendor differences. CPUID reports the host's vendor, and the tests compare against the host, so where
 * Intel and AMD hardware disagree the helpers follow x86_vendor_intel(). AMD's behaviour is what the tests
 * found on the AMD EPYC they used to run on; Intel's was probed natively on a Xeon (user mode, 64-bit code):
 *  - A fault after some elements of REPE/REPNE CMPS/SCAS: RCX/RSI/RDI say how far the run got on both.
 *    AMD's signal frame holds the flags of the last completed comparison, so the helpers record each
 *    comparison as they go. Intel's holds the flags from before the instruction (whatever the counts,
 *    element size, DF, and across page boundaries), so on Intel the flags are only written when the run
 *    ends (StrCtx.cmp_flags_deferred, str_cmp_end).
 *  - REP with a 32-bit address size and ECX = 0: AMD writes nothing, so RCX/RSI/RDI keep their upper halves.
 *    Intel writes ECX (clearing the upper half of RCX) for every REP form, and also ESI and EDI for MOVS,
 *    EDI for STOS; LODS, CMPS and SCAS keep RSI/RDI whole (str_a32_rep_start). With a non-zero count, and
 *    without REP, the two agree (every register used is written as a 32-bit one).
 *
 * With a soft-MMU (TCGCPU.mem set, system mode) the first element of each chunk goes through it (the
 * access that may fault, reach MMIO or a page with translated code); the rest of a chunk on RAM is then
 * copied or filled through host pointers, else it goes one element at a time.
 */
#include <string.h>

#include "core/target-x86/cc.h"
#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/string-desc.h"
#include "core/target-x86/sys.h"

#define STR_PAGE 4096ULL
/* Look at exit requests (signals, other threads) this often during one long REP, in chunks/elements. */
#define STR_CHUNKS_PER_EXIT_CHECK 256
#define STR_ELEMS_PER_EXIT_CHECK 65536

typedef struct StrCtx {
    CPUX86State *env;
    unsigned shift;          /* log2 of the element size */
    uint64_t esz;            /* element size in bytes */
    uint64_t mask;           /* address-size mask for RCX/RSI/RDI */
    uint64_t src_base;       /* the source segment's base */
    uint64_t dst_base;       /* ES's base */
    int64_t df;              /* +1 or -1 */
    bool direct;             /* guest addresses are host addresses */
    /* REPE/REPNE CMPS/SCAS: the flags are written when the run ends (Intel), not at each comparison
       (AMD); the last comparison waits in cmp_a/cmp_b (see the comment at the top). */
    bool cmp_flags_deferred;
    bool cmp_pending;
    uint64_t cmp_a, cmp_b;
} StrCtx;

/* In 64-bit mode only FS and GS have a base; in a 32-bit code segment every segment has its own. */
static uint64_t str_seg_base(const CPUX86State *env, unsigned seg)
{
    if (seg == R_FS || seg == R_GS || (env->cs_flags & (X86_TBFLAG_CODE32 | X86_TBFLAG_CODE16))) {
        return env->seg_base[seg];
    }
    return 0;
}

/* The start of a REP run of `op`. */
static void str_ctx_init(StrCtx *c, CPUX86State *env, uint32_t desc, StrOp op)
{
    c->env = env;
    c->shift = str_desc_shift(desc);
    c->esz = 1ULL << c->shift;
    c->mask = (desc & STR_A32) ? 0xffffffffULL : (desc & STR_A16) ? 0xffffULL : ~0ULL;
    c->src_base = str_seg_base(env, str_desc_seg(desc));
    c->dst_base = str_seg_base(env, R_ES);
    c->df = env->df < 0 ? -1 : 1;
    c->direct = env->tcg.mem == NULL;
    c->cmp_flags_deferred = x86_vendor_intel();
    c->cmp_pending = false;
    if (desc & STR_A32) {
        str_a32_rep_start(env, op);
    }
}

/*
 * The vendor rule for a REP with a 32-bit address size and ECX = 0 (see the comment at the top): Intel
 * writes ECX, and the address registers of MOVS/STOS, as 32-bit registers; AMD writes nothing. INS/OUTS
 * could not be measured (no port access in user mode): they are taken to behave as LODS/CMPS/SCAS, the
 * rest of the REP forms that do not go through the fast-string path.
 */
void str_a32_rep_start(CPUX86State *env, StrOp op)
{
    if (!x86_vendor_intel() || (uint32_t)env->regs[R_ECX] != 0) {
        return;
    }
    env->regs[R_ECX] = 0;
    if (op == STR_OP_MOVS) {
        env->regs[R_ESI] = (uint32_t)env->regs[R_ESI];
    }
    if (op == STR_OP_MOVS || op == STR_OP_STOS) {
        env->regs[R_EDI] = (uint32_t)env->regs[R_EDI];
    }
}

/* With a 32-bit address size, ECX/ESI/EDI are written as 32-bit registers (the upper half cleared). */
static inline void str_set_reg(const StrCtx *c, int r, uint64_t v)
{
    /* 16-bit addressing keeps the upper part of the register. */
    c->env->regs[r] = c->mask == 0xffff ? (c->env->regs[r] & ~0xffffULL) | (v & 0xffff) : v & c->mask;
}

/* Offset of register r after n elements. */
static inline uint64_t str_advance(const StrCtx *c, uint64_t off, uint64_t n)
{
    uint64_t bytes = n << c->shift;
    return c->df > 0 ? off + bytes : off - bytes;
}

static uint64_t str_load(const StrCtx *c, uint64_t addr)
{
    if (!c->direct) {
        return c->env->tcg.mem->load(&c->env->tcg, addr, (TCGMemOp)c->shift);
    }
    const void *p = (const void *)(uintptr_t)addr;
    switch (c->shift) {
    case 0:
        return *(const volatile uint8_t *)p;
    case 1: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 2: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static void str_store(const StrCtx *c, uint64_t addr, uint64_t v)
{
    if (!c->direct) {
        c->env->tcg.mem->store(&c->env->tcg, addr, v, (TCGMemOp)c->shift);
        return;
    }
    /* Little-endian host: the low bytes of v are the element. */
    memcpy((void *)(uintptr_t)addr, &v, c->esz);
}

/* System mode: the host address of the rest of a chunk whose first element was just accessed through the
   soft-MMU on the same page (so it is mapped with these rights), or NULL when that is not RAM. */
static void *str_sys_ptr(const StrCtx *c, uint64_t lin, uint64_t len, bool write)
{
    return c->env->sys ? x86_sys_host_ptr(c->env, lin, len, write) : NULL;
}

/*
 * How many elements (at most max) starting at linear address lin, offset off in its segment, stay inside
 * lin's page and do not wrap the address size, going in the direction of DF. At least 1: an element that
 * straddles a page boundary is a chunk of its own.
 */
static uint64_t str_chunk(const StrCtx *c, uint64_t off, uint64_t lin, uint64_t max)
{
    uint64_t in_page = lin & (STR_PAGE - 1);
    uint64_t n, wrap;
    if (in_page + c->esz > STR_PAGE) {
        return 1;
    }
    if (c->df > 0) {
        n = (STR_PAGE - in_page) >> c->shift;
        uint64_t room = c->mask - off;          /* bytes before the address size wraps, minus one */
        wrap = room == ~0ULL ? ~0ULL : (room + 1) >> c->shift;
    } else {
        n = (in_page >> c->shift) + 1;
        wrap = (off >> c->shift) + 1;
    }
    if (wrap < n) {
        n = wrap ? wrap : 1;
    }
    return n < max ? n : max;
}

/* Cut a MOVS chunk so that it never reads bytes it writes itself (see the comment at the top). */
static uint64_t str_limit_overlap(const StrCtx *c, uint64_t src, uint64_t dst, uint64_t n)
{
    uint64_t ahead = c->df > 0 ? dst - src : src - dst;
    if (ahead == 0 || ahead >= (n << c->shift)) {
        return n;
    }
    uint64_t k = ahead >> c->shift;
    return k ? k : 1;
}

/* Leave for the loop if someone asked (a signal for this thread): the registers already say what is left,
   so running the instruction again finishes it. The loop restarts at the pc, sees the request and exits. */
static void str_check_exit(const StrCtx *c)
{
    if (c->env->tcg.exit_request) {
        c->env->tcg.pc = c->env->tcg.insn_pc;
        tcg_cpu_loop_exit(&c->env->tcg, TCG_EXIT_NONE);
    }
}

/* Write the accumulator's low element bits with x86's register rules. */
static void str_set_acc(const StrCtx *c, uint64_t v)
{
    uint64_t *rax = &c->env->regs[R_EAX];
    switch (c->shift) {
    case 0:
        *rax = (*rax & ~0xffULL) | (v & 0xff);
        break;
    case 1:
        *rax = (*rax & ~0xffffULL) | (v & 0xffff);
        break;
    case 2:
        *rax = (uint32_t)v;
        break;
    default:
        *rax = v;
        break;
    }
}

static uint64_t str_elem_mask(const StrCtx *c)
{
    return c->shift == 3 ? ~0ULL : (1ULL << (8 << c->shift)) - 1;
}

void helper_rep_movs(CPUX86State *env, uint32_t desc)
{
    StrCtx c;
    str_ctx_init(&c, env, desc, STR_OP_MOVS);
    uint64_t count = env->regs[R_ECX] & c.mask;
    unsigned chunks = 0;

    while (count) {
        uint64_t si = env->regs[R_ESI] & c.mask, di = env->regs[R_EDI] & c.mask;
        uint64_t src = c.src_base + si, dst = c.dst_base + di;
        uint64_t n = str_chunk(&c, si, src, count);
        n = str_chunk(&c, di, dst, n);
        n = str_limit_overlap(&c, src, dst, n);
        str_store(&c, dst, str_load(&c, src));
        if (n > 1) {
            /* Elements 1..n-1: above the first going up, below it going down. */
            uint64_t rest = (n - 1) << c.shift;
            uint64_t off = c.df > 0 ? c.esz : (uint64_t)0 - rest;
            void *d = (void *)(uintptr_t)(dst + off);
            const void *s = (const void *)(uintptr_t)(src + off);
            if (!c.direct) {
                d = str_sys_ptr(&c, dst + off, rest, true);
                s = d ? str_sys_ptr(&c, src + off, rest, false) : NULL;
            }
            if (d && s) {
                memmove(d, s, rest);
            } else {
                n = 1;
            }
        }
        count -= n;
        str_set_reg(&c, R_ESI, str_advance(&c, si, n));
        str_set_reg(&c, R_EDI, str_advance(&c, di, n));
        str_set_reg(&c, R_ECX, count);
        if (count && ++chunks % STR_CHUNKS_PER_EXIT_CHECK == 0) {
            str_check_exit(&c);
        }
    }
}

/* Fill n elements of value v upward from host address p. */
static void str_fill(void *p, uint64_t v, uint64_t n, unsigned shift)
{
    uint8_t *b = p;
    switch (shift) {
    case 0:
        memset(b, (int)(v & 0xff), n);
        break;
    case 1: {
        uint16_t w = (uint16_t)v;
        for (uint64_t i = 0; i < n; i++) {
            memcpy(b + 2 * i, &w, 2);
        }
        break;
    }
    case 2: {
        uint32_t w = (uint32_t)v;
        for (uint64_t i = 0; i < n; i++) {
            memcpy(b + 4 * i, &w, 4);
        }
        break;
    }
    default:
        for (uint64_t i = 0; i < n; i++) {
            memcpy(b + 8 * i, &v, 8);
        }
        break;
    }
}

void helper_rep_stos(CPUX86State *env, uint32_t desc)
{
    StrCtx c;
    str_ctx_init(&c, env, desc, STR_OP_STOS);
    uint64_t count = env->regs[R_ECX] & c.mask;
    uint64_t v = env->regs[R_EAX];
    unsigned chunks = 0;

    while (count) {
        uint64_t di = env->regs[R_EDI] & c.mask;
        uint64_t dst = c.dst_base + di;
        uint64_t n = str_chunk(&c, di, dst, count);
        str_store(&c, dst, v);
        if (n > 1) {
            uint64_t rest = (n - 1) << c.shift;
            uint64_t off = c.df > 0 ? c.esz : (uint64_t)0 - rest;
            void *d = c.direct ? (void *)(uintptr_t)(dst + off) : str_sys_ptr(&c, dst + off, rest, true);
            if (d) {
                str_fill(d, v, n - 1, c.shift);
            } else {
                n = 1;
            }
        }
        count -= n;
        str_set_reg(&c, R_EDI, str_advance(&c, di, n));
        str_set_reg(&c, R_ECX, count);
        if (count && ++chunks % STR_CHUNKS_PER_EXIT_CHECK == 0) {
            str_check_exit(&c);
        }
    }
}

/* REP LODS: only the last element stays in the accumulator, but every element is read (and may fault). */
void helper_rep_lods(CPUX86State *env, uint32_t desc)
{
    StrCtx c;
    str_ctx_init(&c, env, desc, STR_OP_LODS);
    uint64_t count = env->regs[R_ECX] & c.mask;
    uint64_t done = 0;

    while (count) {
        uint64_t si = env->regs[R_ESI] & c.mask;
        str_set_acc(&c, str_load(&c, c.src_base + si));
        count--;
        str_set_reg(&c, R_ESI, str_advance(&c, si, 1));
        str_set_reg(&c, R_ECX, count);
        if (count && ++done % STR_ELEMS_PER_EXIT_CHECK == 0) {
            str_check_exit(&c);
        }
    }
}

/* Write the flags of CMP a, b into env. */
static void str_write_cmp_flags(const StrCtx *c, uint64_t a, uint64_t b)
{
    CPUX86State *env = c->env;
    env->cc_op = CC_OP_SUBB + (int)c->shift;
    env->cc_dst = a - b;
    env->cc_src = b;
    env->cc_src2 = a;
}

/* A comparison of the run: its flags now (AMD), or once the run ends (Intel, see str_cmp_end). */
static void str_set_cmp_flags(StrCtx *c, uint64_t a, uint64_t b)
{
    if (c->cmp_flags_deferred) {
        c->cmp_a = a;
        c->cmp_b = b;
        c->cmp_pending = true;
    } else {
        str_write_cmp_flags(c, a, b);
    }
}

/* The run has ended (the count ran out or the condition failed): its last comparison sets the flags. Not
   called when an element faults or the helper leaves for an exit request, so on Intel the flags then stay
   as they were before the instruction. */
static void str_cmp_end(StrCtx *c)
{
    if (c->cmp_pending) {
        str_write_cmp_flags(c, c->cmp_a, c->cmp_b);
        c->cmp_pending = false;
    }
}

/* REPE/REPNE SCAS: compare the accumulator with ES:[RDI] until RCX runs out or the condition fails. */
void helper_rep_scas(CPUX86State *env, uint32_t desc)
{
    StrCtx c;
    str_ctx_init(&c, env, desc, STR_OP_SCAS);
    bool repne = desc & STR_REPNE;
    uint64_t count = env->regs[R_ECX] & c.mask;
    uint64_t a = env->regs[R_EAX] & str_elem_mask(&c);
    uint64_t done = 0;

    while (count) {
        uint64_t di = env->regs[R_EDI] & c.mask;
        uint64_t dst = c.dst_base + di;
        uint64_t b = str_load(&c, dst);
        if (c.direct && repne && c.shift == 0 && c.df > 0 && b != a) {
            /* REPNE SCASB upward is strlen/memchr: search the rest of the chunk at once (the first byte,
               just loaded, was the page's first access). */
            uint64_t n = str_chunk(&c, di, dst, count);
            const uint8_t *start = (const uint8_t *)(uintptr_t)dst;
            const uint8_t *p = n > 1 ? memchr(start + 1, (int)a, n - 1) : NULL;
            uint64_t k = p ? (uint64_t)(p - start) + 1 : n;
            str_set_cmp_flags(&c, a, p ? a : start[n - 1]);
            count -= k;
            str_set_reg(&c, R_EDI, di + k);
            str_set_reg(&c, R_ECX, count);
            if (p) {
                break;
            }
            done += k;
        } else {
            str_set_cmp_flags(&c, a, b);
            count--;
            str_set_reg(&c, R_EDI, str_advance(&c, di, 1));
            str_set_reg(&c, R_ECX, count);
            if (repne ? a == b : a != b) {
                break;
            }
            done++;
        }
        if (count && done >= STR_ELEMS_PER_EXIT_CHECK) {
            done = 0;
            str_check_exit(&c);
        }
    }
    str_cmp_end(&c);
}

/* REPE/REPNE CMPS: compare [seg:RSI] with ES:[RDI]. */
void helper_rep_cmps(CPUX86State *env, uint32_t desc)
{
    StrCtx c;
    str_ctx_init(&c, env, desc, STR_OP_CMPS);
    bool repne = desc & STR_REPNE;
    uint64_t count = env->regs[R_ECX] & c.mask;
    uint64_t done = 0;

    while (count) {
        uint64_t si = env->regs[R_ESI] & c.mask, di = env->regs[R_EDI] & c.mask;
        uint64_t a = str_load(&c, c.src_base + si);
        uint64_t b = str_load(&c, c.dst_base + di);
        str_set_cmp_flags(&c, a, b);
        count--;
        str_set_reg(&c, R_ESI, str_advance(&c, si, 1));
        str_set_reg(&c, R_EDI, str_advance(&c, di, 1));
        str_set_reg(&c, R_ECX, count);
        if (repne ? a == b : a != b) {
            break;
        }
        if (count && ++done % STR_ELEMS_PER_EXIT_CHECK == 0) {
            str_check_exit(&c);
        }
    }
    str_cmp_end(&c);
}
