/*
 * The translation-block cache: a hash on (pc, flags), the chaining edges between blocks, and the map
 * from guest pages to the blocks whose code they hold (for self-modifying code).
 *
 * One global mutex guards all of it; blocks run without it. A dropped block may still be in use by a
 * thread that found it before (running its code, or holding it in the loop), so it goes to a graveyard
 * first, with the epoch it was dropped at. Each CPU publishes the epoch at which it entered
 * tcg_cpu_exec (TCGCPU.tb_epoch); a block dropped before the oldest of those cannot be in anyone's hands,
 * since nothing could find it any more once it was dropped. Where the cache owner enables it
 * (tb_enable_reclaim: user mode), such blocks are freed. System mode keeps them: its soft-MMU jump caches
 * hold blocks that are checked through `invalid`, not emptied on a drop.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <glib.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/tb.h"

typedef struct TBPage {
    uint64_t page;        /* the key; first so g_int64_hash can read it */
    GPtrArray *tbs;       /* blocks with code on this page */
} TBPage;

static pthread_mutex_t tb_lock = PTHREAD_MUTEX_INITIALIZER;

void tb_fork_lock(bool lock)
{
    (lock ? pthread_mutex_lock : pthread_mutex_unlock)(&tb_lock);
}
static const TCGBackend *tb_backend;
static const TBPageHooks *tb_hooks;
static GHashTable *tb_table;      /* TranslationBlock * (keyed by pc, flags) -> itself */
static GHashTable *tb_pages;      /* &TBPage.page -> TBPage * */
static _Atomic uint64_t tb_flush_gen = 1;   /* 0 in a block: made by hand (tests), never checked */
typedef struct TBGrave {
    TranslationBlock *tb;
    uint64_t epoch;       /* the epoch it was dropped at */
} TBGrave;

static GArray *tb_graveyard;      /* TBGrave: dropped blocks, kept while threads may still use them */
static _Atomic uint64_t tb_epoch = 1;
static bool tb_reclaim;           /* free graves nobody can hold (tb_enable_reclaim) */
static guint tb_reclaim_at = 1024;   /* the graveyard's size that makes the next attempt */

static guint tb_hash(gconstpointer p)
{
    const TranslationBlock *tb = p;
    uint64_t h = (tb->pc ^ tb->flags) * 0x9e3779b97f4a7c15ULL;
    return (guint)(h >> 32);
}

static gboolean tb_equal(gconstpointer a, gconstpointer b)
{
    const TranslationBlock *x = a, *y = b;
    return x->pc == y->pc && x->flags == y->flags;
}

static void tb_page_free(gpointer p)
{
    TBPage *pg = p;
    g_ptr_array_free(pg->tbs, TRUE);
    g_free(pg);
}

/* Called with the lock held. */
static void tb_init_locked(void)
{
    if (!tb_table) {
        tb_table = g_hash_table_new(tb_hash, tb_equal);
        tb_pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, tb_page_free);
        tb_graveyard = g_array_new(FALSE, FALSE, sizeof(TBGrave));
    }
}

void tb_cache_init(const TCGBackend *backend)
{
    pthread_mutex_lock(&tb_lock);
    tb_init_locked();
    if (backend) {
        tb_backend = backend;
    }
    pthread_mutex_unlock(&tb_lock);
}

void tb_set_page_hooks(const TBPageHooks *hooks)
{
    pthread_mutex_lock(&tb_lock);
    __atomic_store_n(&tb_hooks, hooks, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&tb_lock);
}

bool tb_page_executable(uint64_t page)
{
    const TBPageHooks *hooks = __atomic_load_n(&tb_hooks, __ATOMIC_ACQUIRE);
    return hooks && hooks->executable && hooks->executable(page);
}

bool tb_page_fetch_denied(uint64_t page)
{
    const TBPageHooks *hooks = __atomic_load_n(&tb_hooks, __ATOMIC_ACQUIRE);
    return hooks && hooks->fetch_denied && hooks->fetch_denied(page);
}

static void tb_protect(uint64_t page, bool protect)
{
    if (tb_hooks && tb_hooks->protect) {
        tb_hooks->protect(page, protect);
    }
}

TranslationBlock *tb_lookup(uint64_t pc, uint32_t flags)
{
    TranslationBlock key = {.pc = pc, .flags = flags};
    pthread_mutex_lock(&tb_lock);
    tb_init_locked();
    TranslationBlock *tb = g_hash_table_lookup(tb_table, &key);
    pthread_mutex_unlock(&tb_lock);
    return tb;
}

static const TCGBackend *tb_backend_of(const TranslationBlock *tb)
{
    return tb->backend ? tb->backend : tb_backend;
}

static void tb_discard(TranslationBlock *tb)
{
    const TCGBackend *b = tb_backend_of(tb);
    if (tb->code && b && b->free_code) {
        b->free_code(tb);
    }
    g_free(tb);
}

static void tb_drop(TranslationBlock *tb, uint64_t skip_page);

uint64_t tb_epoch_now(void)
{
    return atomic_load(&tb_epoch);
}

void tb_enable_reclaim(void)
{
    pthread_mutex_lock(&tb_lock);
    tb_reclaim = true;
    pthread_mutex_unlock(&tb_lock);
}

/* Free a block nobody can hold any more: first its chains out, which its targets list. Lock held. */
static void tb_free_grave(TranslationBlock *tb)
{
    for (int s = 0; s < TCG_GOTO_TB_SLOTS; s++) {
        TranslationBlock *to = atomic_load(&tb->jmp_dest[s]);
        if (!to) {
            continue;   /* never chained, or the target was dropped (which cut the edge) */
        }
        for (TBIncoming **p = &to->incoming; *p; p = &(*p)->next) {
            if ((*p)->from == tb && (*p)->slot == s) {
                TBIncoming *e = *p;
                *p = e->next;
                g_free(e);
                break;
            }
        }
    }
    tb_discard(tb);
}

/* Free the graves dropped before every CPU now in tcg_cpu_exec entered it. Lock held. */
static void tb_reclaim_graves(void)
{
    uint64_t oldest = tcg_cpus_oldest_epoch();
    guint kept = 0;
    for (guint i = 0; i < tb_graveyard->len; i++) {
        TBGrave g = g_array_index(tb_graveyard, TBGrave, i);
        if (g.epoch < oldest) {
            tb_free_grave(g.tb);
        } else {
            g_array_index(tb_graveyard, TBGrave, kept++) = g;
        }
    }
    g_array_set_size(tb_graveyard, kept);
    tb_reclaim_at = kept + 1024;
    if (kept > 0) {
        /* Whoever holds the rest leaves tcg_cpu_exec at its next block and comes back with a new epoch, so
           the next attempt can free them (a thread spinning in generated code never leaves by itself). */
        tcg_cpus_kick_older_than(g_array_index(tb_graveyard, TBGrave, kept - 1).epoch + 1);
    }
}

/* tb was made unreachable (out of the hash, the jump caches and every chain into it). Lock held. The
   graves are looked at before tb joins them: a caller outside tcg_cpu_exec (a fork server warming the
   cache) may still be holding tb, which a block translated across a flush goes to the graveyard as. */
static void tb_bury(TranslationBlock *tb)
{
    if (tb_reclaim && tb_graveyard->len >= tb_reclaim_at) {
        tb_reclaim_graves();
    }
    TBGrave g = {tb, atomic_fetch_add(&tb_epoch, 1)};
    g_array_append_val(tb_graveyard, g);
}

static uint64_t tb_page_of(const TranslationBlock *tb, int i)
{
    return tb->page[i] & TB_PAGE_MASK;
}

static TranslationBlock *tb_insert_locked(TranslationBlock *tb, TranslationBlock *replaced);

TranslationBlock *tb_insert(TranslationBlock *tb)
{
    pthread_mutex_lock(&tb_lock);
    tb_init_locked();
    return tb_insert_locked(tb, NULL);
}

TranslationBlock *tb_replace(TranslationBlock *old, TranslationBlock *tb)
{
    pthread_mutex_lock(&tb_lock);
    tb_init_locked();
    bool current = !old->invalid && g_hash_table_lookup(tb_table, old) == old;
    return tb_insert_locked(tb, current ? old : NULL);
}

/* Called with the lock held; releases it. */
static TranslationBlock *tb_insert_locked(TranslationBlock *tb, TranslationBlock *replaced)
{
    if (tb->flush_gen && tb->flush_gen != tb_flush_gen) {
        /* Translated across a flush: its code may sit in a recycled part of the code buffer. It is
           returned dead (never chained to, never run by the JIT), and the loop translates again. */
        __atomic_store_n(&tb->invalid, true, __ATOMIC_RELEASE);
        tb_bury(tb);
        pthread_mutex_unlock(&tb_lock);
        return tb;
    }
    TranslationBlock *old = replaced ? NULL : g_hash_table_lookup(tb_table, tb);
    if (old && tb_backend_of(old) == tb_backend_of(tb)) {
        /* Another thread translated the same block first; never published, so freeing is safe. */
        pthread_mutex_unlock(&tb_lock);
        tb_discard(tb);
        return old;
    }
    if (old) {
        /* Compiled by another backend (a test switching backends): the new one replaces it. */
        tb_drop(old, ~0ULL);
    }
    g_hash_table_replace(tb_table, tb, tb);
    for (int i = 0; i < 2; i++) {
        if (i == 1 && (tb->page[1] == ~0ULL || tb_page_of(tb, 1) == tb_page_of(tb, 0))) {
            break;
        }
        uint64_t page = tb_page_of(tb, i);
        TBPage *pg = g_hash_table_lookup(tb_pages, &page);
        if (!pg) {
            pg = g_new0(TBPage, 1);
            pg->page = page;
            pg->tbs = g_ptr_array_new();
            g_hash_table_insert(tb_pages, &pg->page, pg);
            tb_protect(page, true);
        }
        g_ptr_array_add(pg->tbs, tb);
    }
    if (replaced) {
        /* After the new block is on the pages: they stay protected throughout. */
        tb_drop(replaced, ~0ULL);
    }
    pthread_mutex_unlock(&tb_lock);
    return tb;
}

void tb_chain(TranslationBlock *from, int slot, TranslationBlock *to)
{
    if (slot < 0 || slot >= TCG_GOTO_TB_SLOTS || !from || !to) {
        return;
    }
    pthread_mutex_lock(&tb_lock);
    /* Checked under the lock, so an invalidation cannot slip between the check and the edge. */
    const TCGBackend *b = tb_backend_of(from);
    if (!from->invalid && !to->invalid && !atomic_load(&from->jmp_dest[slot]) && b && b == tb_backend_of(to)) {
        TBIncoming *e = g_new(TBIncoming, 1);
        e->from = from;
        e->slot = slot;
        e->next = to->incoming;
        to->incoming = e;
        b->chain(from, slot, to);
    }
    pthread_mutex_unlock(&tb_lock);
}

/* Cut every edge into tb. Called with the lock held. */
static void tb_unchain_incoming(TranslationBlock *tb)
{
    TBIncoming *e = tb->incoming;
    tb->incoming = NULL;
    while (e) {
        TBIncoming *n = e->next;
        if (atomic_load(&e->from->jmp_dest[e->slot]) == tb) {
            tb_backend_of(e->from)->unchain(e->from, e->slot);
        }
        g_free(e);
        e = n;
    }
}

/*
 * Drop one block: out of the hash, its incoming edges cut, off every page list but `skip_page` (which
 * the caller is emptying). Called with the lock held.
 */
static void tb_drop(TranslationBlock *tb, uint64_t skip_page)
{
    __atomic_store_n(&tb->invalid, true, __ATOMIC_RELEASE);
    tcg_jmp_caches_drop(tb);
    if (g_hash_table_lookup(tb_table, tb) == tb) {
        g_hash_table_remove(tb_table, tb);
    }
    tb_unchain_incoming(tb);
    for (int i = 0; i < 2; i++) {
        if (i == 1 && tb->page[1] == ~0ULL) {
            break;
        }
        uint64_t page = tb_page_of(tb, i);
        if (page == skip_page) {
            continue;
        }
        TBPage *pg = g_hash_table_lookup(tb_pages, &page);
        if (pg && g_ptr_array_remove_fast(pg->tbs, tb) && pg->tbs->len == 0) {
            g_hash_table_remove(tb_pages, &page);
            tb_protect(page, false);
        }
    }
    tb_bury(tb);
}

bool tb_invalidate_page(uint64_t page)
{
    page &= TB_PAGE_MASK;
    pthread_mutex_lock(&tb_lock);
    tb_init_locked();
    TBPage *pg = g_hash_table_lookup(tb_pages, &page);
    if (!pg) {
        pthread_mutex_unlock(&tb_lock);
        return false;
    }
    for (guint i = 0; i < pg->tbs->len; i++) {
        tb_drop(g_ptr_array_index(pg->tbs, i), page);
    }
    g_hash_table_remove(tb_pages, &page);
    tb_protect(page, false);
    pthread_mutex_unlock(&tb_lock);
    return true;
}

bool tb_page_has_code(uint64_t page)
{
    page &= TB_PAGE_MASK;
    pthread_mutex_lock(&tb_lock);
    tb_init_locked();
    bool has = g_hash_table_contains(tb_pages, &page);
    pthread_mutex_unlock(&tb_lock);
    return has;
}

uint64_t tb_flush_generation(void)
{
    return tb_flush_gen;
}

void tb_flush_all(void)
{
    pthread_mutex_lock(&tb_lock);
    tb_init_locked();
    tb_flush_gen++;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, tb_pages);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        TBPage *pg = value;
        for (guint i = 0; i < pg->tbs->len; i++) {
            TranslationBlock *tb = g_ptr_array_index(pg->tbs, i);
            if (!tb->invalid) {
                /* Pages are all going away below; only the hash and the edges need undoing. */
                __atomic_store_n(&tb->invalid, true, __ATOMIC_RELEASE);
                tb_unchain_incoming(tb);
                tb_bury(tb);
            }
        }
        tb_protect(pg->page, false);
    }
    g_hash_table_remove_all(tb_pages);
    g_hash_table_remove_all(tb_table);
    tcg_jmp_caches_clear();
    pthread_mutex_unlock(&tb_lock);
}
