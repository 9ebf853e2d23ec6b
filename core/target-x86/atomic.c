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

static inline void *atomic_host_ptr(uint64_t addr) { return (void *)(uintptr_t)addr; }

uint64_t helper_atomic_cmpxchg(uint64_t addr, uint64_t expected, uint64_t desired, uint32_t bits)
{
    void *p = atomic_host_ptr(addr);
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
