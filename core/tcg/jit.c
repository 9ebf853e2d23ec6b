/*
 * The x86-64 JIT backend: runs compiled blocks through the shared trampoline and patches goto_tb jumps
 * to chain blocks. The compiler is jit-compile.c, the emitter and code buffer jit-emit.c.
 *
 * Running code holds nothing (no lock, no allocation), so a helper or a fault handler may leave it
 * through tcg_cpu_loop_exit at any point. The code buffer is never rewritten under a running thread:
 * see jit.h for why a full buffer moves to a fresh slice instead.
 */
#include <stdatomic.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit.h"
#include "core/tcg/tb.h"

typedef TCGExit (*JitEnterFn)(TCGCPU *cpu, void *entry);

static TCGExit jit_exec(TCGCPU *cpu, TranslationBlock *tb)
{
    return ((JitEnterFn)(void *)jit_prologue)(cpu, JIT_ENTRY(tb->code));
}

static void jit_chain(TranslationBlock *from, int slot, TranslationBlock *to)
{
    JitBlock *h = from->code;
    atomic_store_explicit(&from->jmp_dest[slot], to, memory_order_release);
    /* Out of rel32 range cannot happen inside one reservation; then the slot simply keeps exiting. */
    if (h && h->jmp_field[slot] && to->code) {
        jit_patch_rel32(h->jmp_field[slot], JIT_ENTRY(to->code), true);
    }
}

static void jit_unchain(TranslationBlock *from, int slot)
{
    JitBlock *h = from->code;
    if (h && h->jmp_field[slot]) {
        jit_patch_rel32(h->jmp_field[slot], h->stub[slot], true);
    }
    atomic_store_explicit(&from->jmp_dest[slot], NULL, memory_order_release);
}

static void jit_free_code(TranslationBlock *tb)
{
    /* Bump-allocated: the space comes back only when its slice is abandoned (jit.h). */
    tb->code = NULL;
}

const TCGBackend tcg_backend_jit = {
    .name = "jit",
    .compile = jit_compile,
    .exec = jit_exec,
    .chain = jit_chain,
    .unchain = jit_unchain,
    .free_code = jit_free_code,
};
