/*
 * Per-CPU jump caches (TCGCPU.jmp_cache): the blocks indirect jumps and returns went to recently.
 *
 * A slot's key and the block's entry point (TCGCPU.jmp_key, jmp_code, indexed alike) are all the JIT's
 * inline lookup (jit_goto_ptr) reads: it compares and jumps without touching the block itself, which for
 * an interpreter's dispatch is one dependent load instead of two. The price is that nothing there says
 * whether the block is still valid, so a dropped block's entries are taken out of every CPU's cache when
 * it is dropped (tb.c calls tcg_jmp_caches_drop with its lock held), which is why the CPUs are registered
 * here.
 *
 * Only a CPU's own thread fills its cache; other threads only empty entries (tcg_jmp_empty_key). A filling
 * thread writes the key last and an emptying one writes only the key, so a reader sees an old entry whole
 * or an empty one. A fill racing with a drop of the same block is settled as in Dekker's algorithm: the
 * dropper marks the block invalid, then looks at the entries; the filler writes the entry, then looks at
 * the mark (a full fence between on both sides), so one of them sees the other and empties it.
 */
#include <pthread.h>
#include <glib.h>

#include "core/tcg/cpu-exec.h"

static pthread_mutex_t jmp_caches_lock = PTHREAD_MUTEX_INITIALIZER;
static GPtrArray *jmp_caches_cpus;   /* TCGCPU * between tcg_cpu_init and tcg_cpu_destroy */

_Static_assert(TB_JMP_CACHE_SIZE >= 2, "an empty slot's key (slot ^ 1) must hash to another slot");

static void jmp_cache_empty(TCGCPU *cpu, unsigned slot)
{
    __atomic_store_n(&cpu->jmp_key[slot], tcg_jmp_empty_key(slot), __ATOMIC_RELEASE);
}

static void jmp_cache_empty_all(TCGCPU *cpu)
{
    for (unsigned i = 0; i < TB_JMP_CACHE_SIZE; i++) {
        jmp_cache_empty(cpu, i);
    }
}

void tcg_jmp_cache_register(TCGCPU *cpu)
{
    jmp_cache_empty_all(cpu);
    cpu->jmp_fills = 0;
    pthread_mutex_lock(&jmp_caches_lock);
    if (!jmp_caches_cpus) {
        jmp_caches_cpus = g_ptr_array_new();
    }
    if (!g_ptr_array_find(jmp_caches_cpus, cpu, NULL)) {
        g_ptr_array_add(jmp_caches_cpus, cpu);
    }
    pthread_mutex_unlock(&jmp_caches_lock);
}

void tcg_jmp_cache_unregister(TCGCPU *cpu)
{
    pthread_mutex_lock(&jmp_caches_lock);
    if (jmp_caches_cpus) {
        g_ptr_array_remove_fast(jmp_caches_cpus, cpu);
    }
    pthread_mutex_unlock(&jmp_caches_lock);
}

void tcg_jmp_cache_set(TCGCPU *cpu, TranslationBlock *tb)
{
    unsigned slot = tcg_jmp_hash(tb->pc);
    TBJmpEntry *e = &cpu->jmp_cache[slot];
    jmp_cache_empty(cpu, slot);
    __atomic_store_n(&e->tb, tb, __ATOMIC_RELAXED);   /* droppers read it */
    cpu->jmp_code[slot] = tb->entry;
    e->flags = tb->flags;
    __atomic_store_n(&cpu->jmp_key[slot], tb->pc, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&tb->invalid, __ATOMIC_ACQUIRE)) {
        jmp_cache_empty(cpu, slot);   /* dropped meanwhile: its dropper may have looked before the entry was there */
    }
    if (cpu->jmp_fills < TB_JMP_FILL_LOG) {
        cpu->jmp_fill_log[cpu->jmp_fills++] = (uint16_t)slot;
    } else {
        cpu->jmp_fills = TB_JMP_FILL_LOG + 1;   /* more than the log holds */
    }
}

/* A guest that changes its mode often (x86: MXCSR's rounding bits) refills few slots in between, so
   those are emptied one by one rather than the whole cache each time. */
void tcg_jmp_cache_new_flags(TCGCPU *cpu, uint32_t flags)
{
    if (cpu->jmp_fills <= TB_JMP_FILL_LOG) {
        for (uint32_t i = 0; i < cpu->jmp_fills; i++) {
            jmp_cache_empty(cpu, cpu->jmp_fill_log[i]);
        }
    } else {
        jmp_cache_empty_all(cpu);
    }
    cpu->jmp_fills = 0;
    cpu->jmp_flags = flags;
}

void tcg_jmp_caches_drop(const TranslationBlock *tb)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* tb->invalid is set: see the comment at the top */
    unsigned h = tcg_jmp_hash(tb->pc);
    pthread_mutex_lock(&jmp_caches_lock);
    for (guint i = 0; jmp_caches_cpus && i < jmp_caches_cpus->len; i++) {
        TCGCPU *cpu = g_ptr_array_index(jmp_caches_cpus, i);
        if (__atomic_load_n(&cpu->jmp_cache[h].tb, __ATOMIC_RELAXED) == tb) {
            jmp_cache_empty(cpu, h);
        }
    }
    pthread_mutex_unlock(&jmp_caches_lock);
}

uint64_t tcg_cpus_oldest_epoch(void)
{
    uint64_t oldest = UINT64_MAX;
    pthread_mutex_lock(&jmp_caches_lock);
    for (guint i = 0; jmp_caches_cpus && i < jmp_caches_cpus->len; i++) {
        const TCGCPU *cpu = g_ptr_array_index(jmp_caches_cpus, i);
        uint64_t e = __atomic_load_n(&cpu->tb_epoch, __ATOMIC_SEQ_CST);
        if (e != 0 && e < oldest) {
            oldest = e;
        }
    }
    pthread_mutex_unlock(&jmp_caches_lock);
    return oldest;
}

void tcg_cpus_kick_older_than(uint64_t epoch)
{
    pthread_mutex_lock(&jmp_caches_lock);
    for (guint i = 0; jmp_caches_cpus && i < jmp_caches_cpus->len; i++) {
        TCGCPU *cpu = g_ptr_array_index(jmp_caches_cpus, i);
        uint64_t e = __atomic_load_n(&cpu->tb_epoch, __ATOMIC_SEQ_CST);
        if (e != 0 && e < epoch) {
            tcg_cpu_request_exit(cpu);
        }
    }
    pthread_mutex_unlock(&jmp_caches_lock);
}

void tcg_cpus_fork_lock(bool lock)
{
    (lock ? pthread_mutex_lock : pthread_mutex_unlock)(&jmp_caches_lock);
}

void tcg_cpus_fork_child(const TCGCPU *self)
{
    for (guint i = 0; jmp_caches_cpus && i < jmp_caches_cpus->len; i++) {
        TCGCPU *cpu = g_ptr_array_index(jmp_caches_cpus, i);
        if (cpu != self) {
            __atomic_store_n(&cpu->tb_epoch, 0, __ATOMIC_RELAXED);
        }
    }
}

void tcg_jmp_caches_clear(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    pthread_mutex_lock(&jmp_caches_lock);
    for (guint i = 0; jmp_caches_cpus && i < jmp_caches_cpus->len; i++) {
        jmp_cache_empty_all(g_ptr_array_index(jmp_caches_cpus, i));
    }
    pthread_mutex_unlock(&jmp_caches_lock);
}
