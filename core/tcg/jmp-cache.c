/*
 * Per-CPU jump caches (TCGCPU.jmp_cache): the blocks indirect jumps and returns went to recently.
 *
 * An entry holds its key and the block's entry point, so the JIT's inline lookup (jit_goto_ptr) compares
 * and jumps without touching the block itself: for an interpreter's dispatch that is one dependent load
 * instead of two. The price is that nothing there says whether the block is still valid, so a dropped
 * block's entries are taken out of every CPU's cache when it is dropped (tb.c calls tcg_jmp_caches_drop
 * with its lock held), which is why the CPUs are registered here.
 *
 * Only a CPU's own thread fills its cache; other threads only empty entries (pc = TB_JMP_EMPTY). A filling
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

static void jmp_cache_empty(TBJmpEntry *e)
{
    __atomic_store_n(&e->pc, TB_JMP_EMPTY, __ATOMIC_RELEASE);
}

void tcg_jmp_cache_register(TCGCPU *cpu)
{
    for (unsigned i = 0; i < TB_JMP_CACHE_SIZE; i++) {
        jmp_cache_empty(&cpu->jmp_cache[i]);
    }
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
    TBJmpEntry *e = &cpu->jmp_cache[tcg_jmp_hash(tb->pc)];
    jmp_cache_empty(e);
    __atomic_store_n(&e->tb, tb, __ATOMIC_RELAXED);   /* droppers read it */
    e->code = tb->entry;
    e->flags = tb->flags;
    __atomic_store_n(&e->pc, tb->pc, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&tb->invalid, __ATOMIC_ACQUIRE)) {
        jmp_cache_empty(e);   /* dropped meanwhile: its dropper may have looked before the entry was there */
    }
}

void tcg_jmp_caches_drop(const TranslationBlock *tb)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* tb->invalid is set: see the comment at the top */
    unsigned h = tcg_jmp_hash(tb->pc);
    pthread_mutex_lock(&jmp_caches_lock);
    for (guint i = 0; jmp_caches_cpus && i < jmp_caches_cpus->len; i++) {
        TCGCPU *cpu = g_ptr_array_index(jmp_caches_cpus, i);
        TBJmpEntry *e = &cpu->jmp_cache[h];
        if (__atomic_load_n(&e->tb, __ATOMIC_RELAXED) == tb) {
            jmp_cache_empty(e);
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
        TCGCPU *cpu = g_ptr_array_index(jmp_caches_cpus, i);
        for (unsigned k = 0; k < TB_JMP_CACHE_SIZE; k++) {
            jmp_cache_empty(&cpu->jmp_cache[k]);
        }
    }
    pthread_mutex_unlock(&jmp_caches_lock);
}
