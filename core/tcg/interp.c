/*
 * The interpreter backend: runs the instruction arrays built by interp-compile.c with a computed-goto
 * dispatch, follows chained goto_tb slots and goto_ptr lookups without returning to the loop, and calls
 * helpers through libffi. It is the reference the JIT is tested against, so every pure op runs the one
 * evaluator in tcg-eval.h.
 *
 * Helpers may leave through tcg_cpu_loop_exit (siglongjmp): nothing here holds a lock or owns memory
 * while guest code or a helper runs, so abandoning the frame is safe.
 */
#include <stdatomic.h>
#include <string.h>

#include <glib.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/interp.h"
#include "core/tcg/tb.h"
#include "core/tcg/tcg-eval.h"

/* Guest/host memory of a given TCGMemOp; unaligned accesses are fine on the x86-64 host. */
static inline __attribute__((always_inline)) uint64_t interp_host_ld(const void *p, unsigned mo)
{
    switch (mo & 7) {
    case MO_8: { uint8_t v; memcpy(&v, p, 1); return v; }
    case MO_16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case MO_32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case MO_S8: { int8_t v; memcpy(&v, p, 1); return (uint64_t)(int64_t)v; }
    case MO_S16: { int16_t v; memcpy(&v, p, 2); return (uint64_t)(int64_t)v; }
    case MO_S32: { int32_t v; memcpy(&v, p, 4); return (uint64_t)(int64_t)v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static inline __attribute__((always_inline)) void interp_host_st(void *p, uint64_t v, unsigned size)
{
    switch (size & MO_SIZE) {
    case MO_8: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    case MO_16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
    case MO_32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
    default: memcpy(p, &v, 8); break;
    }
}

/* Every helper argument and result is integer class: the x86-64 direct-call form (see interp.h). */
typedef uint64_t (*InterpHelper6)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

static void interp_call(const InterpCall *c, uint8_t *env, const uint8_t *kpool)
{
    void *args[TCG_MAX_HELPER_ARGS];
    for (uint32_t i = 0; i < c->nargs; i++) {
        uint32_t l = c->arg_loc[i];
        /* libffi reads each argument through a pointer; a 32-bit argument is the slot's low half. */
        args[i] = (void *)((l & 1 ? kpool : env) + (l >> 1));
    }
    uint64_t ret = 0;
    if (c->direct) {
        /* Arguments beyond the helper's own count land in registers it never reads. A 32-bit argument's
           upper half is unspecified by the ABI, so passing the whole slot is fine. */
        uint64_t a[TCG_MAX_HELPER_ARGS] = {0};
        for (uint32_t i = 0; i < c->nargs; i++) {
            memcpy(&a[i], args[i], 8);
        }
        ret = ((InterpHelper6)c->func)(a[0], a[1], a[2], a[3], a[4], a[5]);
    } else {
        ffi_arg r = 0;
        ffi_call(c->cif, c->func, &r, args);
        ret = r;
    }
    if (c->ret_loc != INTERP_NO_LOC) {
        uint64_t v = c->ret_i32 ? (uint32_t)ret : (uint64_t)ret;
        memcpy(env + (c->ret_loc >> 1), &v, 8);
    }
}

#define REPEAT4(X) X(0) X(1) X(2) X(3)
#define REPEAT8(X) REPEAT4(X) X(4) X(5) X(6) X(7)
#define REPEAT_CONDS(X, t) \
    X(0, t) X(1, t) X(2, t) X(3, t) X(4, t) X(5, t) X(6, t) X(7, t) X(8, t) X(9, t) X(10, t) X(11, t) X(12, t) X(13, t)

static TCGExit interp_exec(TCGCPU *cpu, TranslationBlock *tb)
{
    static const void *const dispatch[IC_COUNT] = {
#define OP(name, nout, nin, nconst, fl) [INDEX_op_##name * 2] = &&g_##name##_0, [INDEX_op_##name * 2 + 1] = &&g_##name##_1,
#include "core/tcg/ops.def"
#undef OP
#define X(n) [IC_LD + n] = &&ld_##n, [IC_GLD + n] = &&gld_##n,
        REPEAT8(X)
#undef X
#define X(n) [IC_ST + n] = &&st_##n, [IC_GST + n] = &&gst_##n,
        REPEAT4(X)
#undef X
#define X(cc, tt) [IC_BRCOND + cc * 2 + tt] = &&brcond_##cc##_##tt,
        REPEAT_CONDS(X, 0) REPEAT_CONDS(X, 1)
#undef X
        [IC_GLD128] = &&gld128, [IC_GST128] = &&gst128, [IC_BR] = &&br, [IC_CALL] = &&call,
        [IC_INSN_START] = &&insn_start, [IC_GOTO_TB] = &&goto_tb, [IC_GOTO_PTR] = &&goto_ptr,
        [IC_EXIT_TB] = &&exit_tb,
    };
    uint8_t *const env = (uint8_t *)cpu;
    const InterpCode *code;
    const InterpInsn *ip;
    const uint8_t *kpool;
    TranslationBlock *next;

/* An input operand, an output slot, and the two ways to move on. */
#define IN(l) (*(const uint64_t *)(((l) & 1 ? kpool : (const uint8_t *)env) + ((l) >> 1)))
#define OUT(l) (*(uint64_t *)(env + ((l) >> 1)))
#define DISPATCH() goto *dispatch[ip->code]
#define NEXT() do { ip++; DISPATCH(); } while (0)

    /* env as an operand (ld/st base, helper argument) is read from frame[0]. */
    cpu->frame[0] = (uintptr_t)cpu;

enter:
    code = tb->code;
    kpool = (const uint8_t *)code->consts;
    ip = code->insns;
    DISPATCH();

    /* Pure ops: the evaluator instantiated per (op, type). Non-pure ops never get these codes. */
#define GENERIC(opc, t, nout, nin, fl)                                                             \
    {                                                                                              \
        if (((fl) & (OPF_SIDE_EFFECTS | OPF_BB_END | OPF_MEM | OPF_CALL)) || (opc) == INDEX_op_ld) { \
            goto bad_code;                                                                         \
        }                                                                                          \
        uint64_t in_[4], out_[2] = {0, 0};                                                         \
        for (int i_ = 0; i_ < (nin) && i_ < 4; i_++) {                                             \
            in_[i_] = IN(ip->loc[(nout) + i_]);                                                    \
        }                                                                                          \
        tcg_eval_op((opc), (t), in_, ip->c, out_);                                                 \
        for (int i_ = 0; i_ < (nout) && i_ < 2; i_++) {                                            \
            OUT(ip->loc[i_]) = out_[i_];                                                           \
        }                                                                                          \
        NEXT();                                                                                    \
    }
#define OP(name, nout, nin, nconst, fl)                          \
    g_##name##_0 : GENERIC(INDEX_op_##name, TCG_I32, nout, nin, fl) \
    g_##name##_1 : GENERIC(INDEX_op_##name, TCG_I64, nout, nin, fl)
#include "core/tcg/ops.def"
#undef OP
#undef GENERIC

    /* The CPU state: base temp plus a constant offset. */
#define X(n)                                                                                         \
    ld_##n : OUT(ip->loc[0]) = interp_host_ld((const uint8_t *)(uintptr_t)IN(ip->loc[1]) + ip->c[0], n) & ip->c[1]; \
    NEXT();                                                                                          \
    gld_##n : {                                                                                      \
        uint64_t a_ = IN(ip->loc[1]);                                                                \
        uint64_t v_ = cpu->mem ? cpu->mem->load(cpu, a_, (TCGMemOp)n) : interp_host_ld((const void *)(uintptr_t)a_, n); \
        OUT(ip->loc[0]) = v_ & ip->c[1];                                                             \
        NEXT();                                                                                      \
    }
    REPEAT8(X)
#undef X
#define X(n)                                                                                        \
    st_##n : interp_host_st((uint8_t *)(uintptr_t)IN(ip->loc[1]) + ip->c[0], IN(ip->loc[0]), n);    \
    NEXT();                                                                                         \
    gst_##n : {                                                                                     \
        uint64_t a_ = IN(ip->loc[1]);                                                               \
        if (cpu->mem) {                                                                             \
            cpu->mem->store(cpu, a_, IN(ip->loc[0]), (TCGMemOp)n);                                  \
        } else {                                                                                    \
            interp_host_st((void *)(uintptr_t)a_, IN(ip->loc[0]), n);                               \
        }                                                                                           \
        NEXT();                                                                                     \
    }
    REPEAT4(X)
#undef X

gld128:
    if (cpu->mem) {
        cpu->mem->load128(cpu, IN(ip->loc[0]), env + ip->c[0]);
    } else {
        memcpy(env + ip->c[0], (const void *)(uintptr_t)IN(ip->loc[0]), 16);
    }
    NEXT();
gst128:
    if (cpu->mem) {
        cpu->mem->store128(cpu, IN(ip->loc[0]), env + ip->c[0]);
    } else {
        memcpy((void *)(uintptr_t)IN(ip->loc[0]), env + ip->c[0], 16);
    }
    NEXT();

br:
    ip = code->insns + ip->c[0];
    DISPATCH();
#define X(cc, tt)                                                                 \
    brcond_##cc##_##tt : if (tcg_cond_eval_inline((TCGCond)(cc), (TCGType)(tt), IN(ip->loc[0]), IN(ip->loc[1]))) { \
        ip = code->insns + ip->c[0];                                              \
        DISPATCH();                                                               \
    }                                                                             \
    NEXT();
    REPEAT_CONDS(X, 0)
    REPEAT_CONDS(X, 1)
#undef X

call:
    interp_call((const InterpCall *)(uintptr_t)ip->c[0], env, kpool);
    NEXT();
insn_start:
    cpu->insn_pc = ip->c[0];
    NEXT();

goto_tb:
    next = atomic_load_explicit(&tb->jmp_dest[ip->c[0]], memory_order_acquire);
    if (!next) {
        return (TCGExit){tb, (int)ip->c[0], TCG_EXIT_NONE};
    }
    goto chain;
goto_ptr:
    /* Per-block logging wants every block to pass through the loop (which also turns chaining off). */
    next = tb->alone || (cpu->log_mask & (TCG_LOG_EXEC | TCG_LOG_CPU)) ? NULL : tcg_cpu_find_tb(cpu);
    if (!next) {
        return (TCGExit){tb, -1, TCG_EXIT_NONE};
    }
    goto chain;
chain:
    /* Every block entry is a chance to honour an exit request; the loop reports it. */
    if (cpu->exit_request) {
        return (TCGExit){tb, -1, TCG_EXIT_NONE};
    }
    tb = next;
    goto enter;

exit_tb:
    cpu->exit_reason = (int32_t)ip->c[0];
    return (TCGExit){tb, -1, (TCGExitReason)ip->c[0]};

bad_code:
    /* Unreachable for code from interp_compile; leave with an exception rather than run garbage. */
    cpu->exit_reason = TCG_EXIT_EXCEPTION;
    return (TCGExit){tb, -1, TCG_EXIT_EXCEPTION};
#undef IN
#undef OUT
#undef DISPATCH
#undef NEXT
}

static void interp_chain(TranslationBlock *from, int slot, TranslationBlock *to)
{
    atomic_store_explicit(&from->jmp_dest[slot], to, memory_order_release);
}

static void interp_unchain(TranslationBlock *from, int slot)
{
    atomic_store_explicit(&from->jmp_dest[slot], NULL, memory_order_release);
}

static void interp_free_code(TranslationBlock *tb)
{
    g_free(tb->code);
    tb->code = NULL;
}

const TCGBackend tcg_backend_interp = {
    .name = "interp",
    .compile = interp_compile,
    .exec = interp_exec,
    .chain = interp_chain,
    .unchain = interp_unchain,
    .free_code = interp_free_code,
};
