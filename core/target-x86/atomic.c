/*
 * Atomic guest memory access for LOCK-prefixed instructions and XCHG. Guest threads are host threads
 * sharing memory (user mode: guest_base is 0, a guest address is a host address), so atomicity comes from
 * host atomic instructions on the guest address.
 *
 * Every lockable read-modify-write goes through one path: load the old value, compute the new one in IR,
 * and let a helper compare-and-exchange it in; if another thread got in between, loop back in IR and
 * recompute. CMPXCHG, XADD and XCHG map straight onto a host atomic.
 */
#include "core/target-x86/helpers.h"
#include "core/target-x86/int-emit.h"
#include "core/target-x86/sys.h"

/*
 * The host address of a guest operand. System mode translates it through the soft-MMU (checking write
 * rights, faulting like the access would); NULL there means it crosses a page or is MMIO, and the helper
 * then does a plain load and store (no other CPU can see a split access half-done on RAM we do not share
 * with a device anyway).
 */
static inline void *atomic_host_ptr_n(uint64_t addr, unsigned bytes)
{
    TCGCPU *cpu = tcg_current_cpu;
    if (__builtin_expect(cpu != NULL && cpu->mem != NULL, 0)) {
        return x86_sys_host_ptr(x86_env(cpu), addr, bytes, true);
    }
    return (void *)(uintptr_t)addr;
}

#define atomic_host_ptr(addr) atomic_host_ptr_n((addr), bits / 8)

enum { ATOMIC_CMPXCHG, ATOMIC_XCHG, ATOMIC_ADD };

/* The system-mode path for an operand no host atomic can reach: load, compute, store. */
static uint64_t atomic_split(uint64_t addr, unsigned bits, int op, uint64_t a, uint64_t b)
{
    CPUX86State *env = x86_env(tcg_current_cpu);
    int idx = x86_sys_mmu_index(env);
    uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
    uint64_t old = x86_sys_ld(env, addr, bits / 8, idx);
    uint64_t val = op == ATOMIC_CMPXCHG ? (old == (a & mask) ? b : old) : op == ATOMIC_XCHG ? a : old + a;
    x86_sys_st(env, addr, val & mask, bits / 8, idx);
    return old;
}

uint64_t helper_atomic_cmpxchg(uint64_t addr, uint64_t expected, uint64_t desired, uint32_t bits)
{
    void *p = atomic_host_ptr(addr);
    if (!p) {
        return atomic_split(addr, bits, ATOMIC_CMPXCHG, expected, desired);
    }
    switch (bits) {
    case 8: {
        uint8_t e = (uint8_t)expected;
        __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return e;
    }
    case 16: {
        uint16_t e = (uint16_t)expected;
        __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        return e;
    }
    case 32: {
        uint32_t e = (uint32_t)expected;
        __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        return e;
    }
    default: {
        uint64_t e = expected;
        __atomic_compare_exchange_n((uint64_t *)p, &e, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        return e;
    }
    }
}

uint64_t helper_atomic_xchg(uint64_t addr, uint64_t v, uint32_t bits)
{
    void *p = atomic_host_ptr(addr);
    if (!p) {
        return atomic_split(addr, bits, ATOMIC_XCHG, v, 0);
    }
    switch (bits) {
    case 8:
        return __atomic_exchange_n((uint8_t *)p, (uint8_t)v, __ATOMIC_SEQ_CST);
    case 16:
        return __atomic_exchange_n((uint16_t *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
    case 32:
        return __atomic_exchange_n((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
    default:
        return __atomic_exchange_n((uint64_t *)p, v, __ATOMIC_SEQ_CST);
    }
}

uint64_t helper_atomic_fetch_add(uint64_t addr, uint64_t v, uint32_t bits)
{
    void *p = atomic_host_ptr(addr);
    if (!p) {
        return atomic_split(addr, bits, ATOMIC_ADD, v, 0);
    }
    switch (bits) {
    case 8:
        return __atomic_fetch_add((uint8_t *)p, (uint8_t)v, __ATOMIC_SEQ_CST);
    case 16:
        return __atomic_fetch_add((uint16_t *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
    case 32:
        return __atomic_fetch_add((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
    default:
        return __atomic_fetch_add((uint64_t *)p, v, __ATOMIC_SEQ_CST);
    }
}

/*
 * CMPXCHG16B with the host instruction itself: the compiler's 16-byte __atomic builtins would go through
 * libatomic (a lock), which would not be atomic against guest code running other host instructions.
 */
uint64_t helper_cmpxchg16b(CPUX86State *env, uint64_t addr)
{
    if (addr & 15) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    uint64_t lo = env->regs[R_EAX], hi = env->regs[R_EDX];
    uint8_t zf;
    unsigned bits = 128;   /* for atomic_host_ptr: 16 bytes, aligned, so never split */
    __asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
                     : "=q"(zf), "+m"(*(volatile __int128 *)atomic_host_ptr(addr)), "+a"(lo), "+d"(hi)
                     : "b"(env->regs[R_EBX]), "c"(env->regs[R_ECX])
                     : "memory", "cc");
    if (!zf) {
        env->regs[R_EAX] = lo;
        env->regs[R_EDX] = hi;
    }
    return zf;
}

TCGTemp gen_atomic_rmw(DisasContext *dc, TCGTemp addr, unsigned bits, IntRmwFn fn, const void *arg,
                       TCGTemp *old_out)
{
    TCGContext *s = dc->s;
    int retry = tcg_label_new(s);
    TCGTemp seen = tcg_temp_new(s);
    tcg_gen_set_label(s, retry);
    TCGTemp old = gen_ld(dc, addr, bits, false);
    TCGTemp res = fn(dc, old, arg);
    gen_helper(s, atomic_cmpxchg, seen, addr, old, res, int_const(dc, bits));
    tcg_gen_brcond(s, TCG_I64, TCG_COND_NE, seen, old, retry);
    *old_out = old;
    return res;
}

TCGTemp gen_rmw_op(DisasContext *dc, int i, IntRmwFn fn, const void *arg, TCGTemp *old_out)
{
    if (int_has_lock(dc) && int_op_is_mem(dc, i)) {
        return gen_atomic_rmw(dc, gen_lea(dc, i), x86_op_bits(dc, i), fn, arg, old_out);
    }
    TCGTemp addr;
    TCGTemp old = gen_load_op_rmw(dc, i, &addr);
    TCGTemp res = fn(dc, old, arg);
    gen_store_op_rmw(dc, i, res, addr);
    *old_out = old;
    return res;
}

ZydisRegister int_acc_reg(unsigned bits)
{
    return bits == 8 ? ZYDIS_REGISTER_AL : bits == 16 ? ZYDIS_REGISTER_AX : bits == 32 ? ZYDIS_REGISTER_EAX
                                                                                          : ZYDIS_REGISTER_RAX;
}

ZydisRegister int_dx_reg(unsigned bits)
{
    return bits == 16 ? ZYDIS_REGISTER_DX : bits == 32 ? ZYDIS_REGISTER_EDX : ZYDIS_REGISTER_RDX;
}
