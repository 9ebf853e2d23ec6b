/*
 * The x86-64 JIT backend: runs compiled blocks through the shared trampoline and patches goto_tb jumps
 * to chain blocks. The compiler is jit-compile.c, the emitter and code buffer jit-emit.c.
 *
 * Running code holds nothing (no lock, no allocation), so a helper or a fault handler may leave it
 * through tcg_cpu_loop_exit at any point. The code buffer is never rewritten under a running thread:
 * see jit.h for why a full buffer moves to a fresh slice instead.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit.h"
#include "core/tcg/tb.h"

typedef TCGExit (*JitEnterFn)(TCGCPU *cpu, const void *entry);

/* --- who is running generated code (for reusing code-buffer slices, see jit-emit.c) ------------------- */

/* One record per thread that ever ran generated code; records of finished threads are reused. */
typedef struct JitThread {
    _Atomic uint64_t epoch;        /* the epoch at which it entered generated code; 0: outside */
    TCGCPU *_Atomic cpu;           /* the CPU it runs (valid while epoch != 0) */
    _Atomic bool free;             /* its thread has ended */
    struct JitThread *next;
} JitThread;

static _Atomic uint64_t jit_epoch = 1;
static JitThread *_Atomic jit_threads;
static pthread_key_t jit_thread_key;
static pthread_once_t jit_thread_once = PTHREAD_ONCE_INIT;
static __thread JitThread *jit_self;

static void jit_thread_end(void *p)
{
    JitThread *t = p;
    atomic_store(&t->epoch, 0);
    atomic_store(&t->free, true);
}

static void jit_thread_key_init(void)
{
    pthread_key_create(&jit_thread_key, jit_thread_end);
}

static JitThread *jit_thread_self(void)
{
    if (jit_self) {
        return jit_self;
    }
    pthread_once(&jit_thread_once, jit_thread_key_init);
    JitThread *t = NULL;
    for (JitThread *r = atomic_load(&jit_threads); r; r = r->next) {
        bool was_free = true;
        if (atomic_load(&r->free) && atomic_compare_exchange_strong(&r->free, &was_free, false)) {
            t = r;
            break;
        }
    }
    if (!t) {
        t = calloc(1, sizeof(*t));
        if (!t) {
            return NULL;
        }
        t->next = atomic_load(&jit_threads);
        while (!atomic_compare_exchange_weak(&jit_threads, &t->next, t)) {
        }
    }
    pthread_setspecific(jit_thread_key, t);
    jit_self = t;
    return t;
}

uint64_t jit_epoch_advance(void)
{
    return atomic_fetch_add(&jit_epoch, 1);
}

/* Is a thread (other than `except`) inside generated code since an epoch <= `epoch`? Each such thread is
   asked to leave at its next block entry. */
static bool jit_epoch_busy(uint64_t epoch, const JitThread *except)
{
    bool busy = false;
    for (JitThread *r = atomic_load(&jit_threads); r; r = r->next) {
        uint64_t e = atomic_load(&r->epoch);
        if (e != 0 && e <= epoch && r != except) {
            busy = true;
            TCGCPU *cpu = atomic_load(&r->cpu);
            if (cpu) {
                tcg_cpu_request_exit(cpu);
            }
        }
    }
    return busy;
}

void jit_epoch_wait_quiescent(uint64_t epoch)
{
    while (jit_epoch_busy(epoch, jit_self)) {
        sched_yield();
    }
}

bool jit_epoch_quiescent(uint64_t epoch)
{
    return !jit_epoch_busy(epoch, NULL);
}

void jit_fork_child(void)
{
    /* Only the forking thread exists in the child: nobody else can be in generated code, or ever return. */
    for (JitThread *r = atomic_load(&jit_threads); r; r = r->next) {
        if (r != jit_self) {
            atomic_store(&r->epoch, 0);
            atomic_store(&r->cpu, NULL);
            atomic_store(&r->free, true);
        }
    }
    jit_perfmap_fork_child();
}

static TCGExit jit_exec(TCGCPU *cpu, TranslationBlock *tb)
{
    JitThread *me = jit_thread_self();
    uint64_t outer = 0;   /* nonzero if a helper runs guest code from inside generated code */
    if (me) {
        outer = atomic_load(&me->epoch);
        atomic_store(&me->cpu, cpu);
        atomic_store(&me->epoch, outer ? outer : atomic_load(&jit_epoch));
        /* Published before this check: a flush that invalidated tb after it was looked up either sees
           this thread inside (and waits for it) or is seen here (and tb is not run). A block compiled
           before a flush (tcg_run_uncached's, never cached) is not run either. */
        if (__atomic_load_n(&tb->invalid, __ATOMIC_SEQ_CST) ||
            (tb->flush_gen && tb->flush_gen != tb_flush_generation())) {
            atomic_store(&me->epoch, outer);
            return (TCGExit){NULL, -1, TCG_EXIT_NONE};
        }
    }
    const JitPins *pins = jit_pins_for(cpu);
    TCGExit e = ((JitEnterFn)(void *)(pins ? pins->prologue : jit_prologue))(cpu, tb->entry);
    if (me) {
        atomic_store(&me->epoch, outer);
    }
    return e;
}

/* The exception path left generated code without returning through jit_exec. */
static void jit_left(TCGCPU *cpu)
{
    (void)cpu;
    if (jit_self) {
        atomic_store(&jit_self->epoch, 0);
    }
}

/*
 * A chained jump to a block at a higher pc enters after the block's exit-request check: a loop of chained
 * blocks needs a jump to a pc no higher than its own somewhere, and that one checks, so a thread asked to
 * leave still does within a bounded number of blocks. The check is a load and a branch at the top of
 * every block; skipping it on forward jumps made a perl loop 2.4% faster, a python loop 1.6%.
 */
static void jit_chain(TranslationBlock *from, int slot, TranslationBlock *to)
{
    JitBlock *h = from->code;
    atomic_store_explicit(&from->jmp_dest[slot], to, memory_order_release);
    /* Out of rel32 range cannot happen inside one reservation; then the slot simply keeps exiting. */
    if (h && h->jmp_field[slot] && to->entry) {
        const JitBlock *th = to->code;
        const uint8_t *target = to->entry;
        if (to->pc > from->pc && th && target == JIT_ENTRY(th)) {
            target += th->check_bytes;
        }
        jit_patch_rel32(jit_block_at_offset(h, h->jmp_field[slot]), target, true);
    }
}

static void jit_unchain(TranslationBlock *from, int slot)
{
    JitBlock *h = from->code;
    if (h && h->jmp_field[slot]) {
        jit_patch_rel32(jit_block_at_offset(h, h->jmp_field[slot]), jit_block_at_offset(h, h->stub[slot]), true);
    }
    atomic_store_explicit(&from->jmp_dest[slot], NULL, memory_order_release);
}

static void jit_free_code(TranslationBlock *tb)
{
    /* Bump-allocated: the space comes back only when its slice is abandoned (jit.h). */
    tb->code = NULL;
    tb->entry = NULL;
}

const TCGBackend tcg_backend_jit = {
    .name = "jit",
    .counts_runs = true,
    .compile = jit_compile,
    .exec = jit_exec,
    .chain = jit_chain,
    .unchain = jit_unchain,
    .free_code = jit_free_code,
    .left = jit_left,
    .restore_state = jit_restore_state,
    .freeze = jit_freeze,
    .thaw = jit_thaw,
};
