/*
 * Self-modifying code: which guest pages are write-protected because of translated code, and what a write
 * to one does. A page holding code loses PROT_WRITE on the host (the block cache's protect hook) until its
 * blocks are dropped; so do the other views of a shared file page that holds code (aliases, below). A
 * guest write there faults, the code is dropped and the page gets the guest's rights back from the map
 * (guest-mem.c), whose lock guards this state too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <glib.h>

#include "user/linux/guest-mem-internal.h"

static GHashTable *code_pages;   /* pages write-protected because they hold translated code */
#define PAGE_KEY(page) ((gpointer)(uintptr_t)(page))
/* Pages write-protected because they show, through a shared mapping of the same file, the same memory as
   a code page elsewhere (a JIT's writable view of its executable memfd): see "aliases" below. */
static GHashTable *alias_pages;

void code_pages_init(void)
{
    code_pages = g_hash_table_new(g_direct_hash, g_direct_equal);
    alias_pages = g_hash_table_new(g_direct_hash, g_direct_equal);
}

void code_pages_reset(void)
{
    g_hash_table_remove_all(code_pages);
    g_hash_table_remove_all(alias_pages);
}

static gint cmp_u64(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The pages of a set (code_pages, alias_pages) in [start, end), appended to out (or a new array), sorted;
   lock held. */
static GArray *pages_in(GHashTable *set, uint64_t start, uint64_t end, GArray *out)
{
    if (!out)
        out = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, set);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        uint64_t page = (uintptr_t)key;
        if (page >= start && page < end)
            g_array_append_val(out, page);
    }
    g_array_sort(out, cmp_u64);
    return out;
}

static GArray *code_pages_in(uint64_t start, uint64_t end) { return pages_in(code_pages, start, end, NULL); }

/* ---- aliases ----
 * A shared mapping of a file (typically a memfd) can be mapped twice: a JIT writes its code through a
 * writable view and runs it through an executable one (.NET's W^X double mapping does). A write through
 * the writable view changes a code page without touching it, so the code page's own write protection
 * sees nothing. Every other page that shows the same file page as a code page is therefore write-protected
 * as well (alias_pages), and a write there invalidates the code pages it shows. Shared anonymous memory has
 * no inode to match them by (ino 0) and is left out; writes by other processes, or by write(2) to the file,
 * are not seen, as by any translator that watches pages.
 */

typedef struct FilePage {
    uint64_t dev, ino, offset;
} FilePage;

static bool region_is_file_view(const GuestRegion *r)
{
    return r->shared && r->kind == GUEST_REGION_FILE && r->ino != 0;
}

/* The file page that a shared file mapping shows at page; false for any other page. Lock held. */
static bool file_page_at(uint64_t page, FilePage *fp)
{
    GuestRegion *r = guest_region_find(page);
    if (!r || !region_is_file_view(r))
        return false;
    *fp = (FilePage){ r->dev, r->ino, r->offset + (page - r->start) };
    return true;
}

/* The pages in [start, end) that show fp, sorted by address. Lock held. */
static GArray *file_page_views(const FilePage *fp, uint64_t start, uint64_t end)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint i = guest_region_search(start); i < guest_region_count() && guest_region_at(i)->start < end; i++) {
        const GuestRegion *r = guest_region_at(i);
        if (!region_is_file_view(r) || r->dev != fp->dev || r->ino != fp->ino || fp->offset < r->offset ||
            fp->offset - r->offset >= r->end - r->start)
            continue;
        uint64_t page = r->start + (fp->offset - r->offset);
        if (page >= start && page < end)
            g_array_append_val(out, page);
    }
    return out;
}

/* The code pages that show fp. Lock held. */
static GArray *file_page_code(const FilePage *fp)
{
    GArray *views = file_page_views(fp, 0, UINT64_MAX);
    guint n = 0;
    for (guint i = 0; i < views->len; i++) {
        uint64_t page = g_array_index(views, uint64_t, i);
        if (g_hash_table_contains(code_pages, PAGE_KEY(page)))
            g_array_index(views, uint64_t, n++) = page;
    }
    g_array_set_size(views, n);
    return views;
}

static bool file_page_has_code(const FilePage *fp)
{
    GArray *code = file_page_code(fp);
    bool any = code->len > 0;
    g_array_free(code, TRUE);
    return any;
}

/* Host rights for a page that is neither code nor an alias any more: the guest's own. Lock held. */
static void page_restore_rights(uint64_t page)
{
    GuestRegion *r = guest_region_find(page);
    if (r && (r->prot & PROT_WRITE))
        mprotect((void *)(uintptr_t)page, GUEST_PAGE_SIZE, r->prot);
}

/* Host rights for a page of region r that is code or an alias: the guest's, without PROT_WRITE. */
static void page_deny_write(const GuestRegion *r, uint64_t page)
{
    if (r->prot & PROT_WRITE)
        mprotect((void *)(uintptr_t)page, GUEST_PAGE_SIZE, r->prot & ~PROT_WRITE);
}

static void alias_protect(uint64_t page)
{
    GuestRegion *r = guest_region_find(page);
    if (!r || g_hash_table_contains(alias_pages, PAGE_KEY(page)))
        return;
    g_hash_table_add(alias_pages, PAGE_KEY(page));
    page_deny_write(r, page);
}

/* A page became code: protect its other views. Lock held. */
static void aliases_of_code(uint64_t page)
{
    FilePage fp;
    if (!file_page_at(page, &fp))
        return;
    GArray *views = file_page_views(&fp, 0, UINT64_MAX);
    for (guint i = 0; i < views->len; i++) {
        uint64_t v = g_array_index(views, uint64_t, i);
        if (v != page && !g_hash_table_contains(code_pages, PAGE_KEY(v)))
            alias_protect(v);
    }
    g_array_free(views, TRUE);
}

/* A page stopped being code: if the file page it shows is still code elsewhere, it stays protected as an
   alias (true); else its views no longer need protection (false). Lock held. */
static bool aliases_after_code(uint64_t page)
{
    FilePage fp;
    if (!file_page_at(page, &fp))
        return false;
    if (file_page_has_code(&fp)) {
        g_hash_table_add(alias_pages, PAGE_KEY(page));
        return true;
    }
    GArray *views = file_page_views(&fp, 0, UINT64_MAX);
    for (guint i = 0; i < views->len; i++) {
        uint64_t v = g_array_index(views, uint64_t, i);
        if (g_hash_table_remove(alias_pages, PAGE_KEY(v)))
            page_restore_rights(v);
    }
    g_array_free(views, TRUE);
    return false;
}

/* The mappings in [start, end) changed (mapped, unmapped, moved): which of its pages are aliases now? */
void code_aliases_refresh(uint64_t start, uint64_t end)
{
    GArray *old = pages_in(alias_pages, start, end, NULL);
    for (guint i = 0; i < old->len; i++)
        g_hash_table_remove(alias_pages, PAGE_KEY(g_array_index(old, uint64_t, i)));
    bool views = false;
    for (guint i = guest_region_search(start); i < guest_region_count() && guest_region_at(i)->start < end && !views; i++)
        views = region_is_file_view(guest_region_at(i));
    if (views) {
        GArray *code = pages_in(code_pages, 0, UINT64_MAX, NULL);
        for (guint i = 0; i < code->len; i++) {
            FilePage fp;
            uint64_t c = g_array_index(code, uint64_t, i);
            if (!file_page_at(c, &fp))
                continue;
            GArray *in_range = file_page_views(&fp, start, end);
            for (guint j = 0; j < in_range->len; j++) {
                uint64_t v = g_array_index(in_range, uint64_t, j);
                if (!g_hash_table_contains(code_pages, PAGE_KEY(v)))
                    alias_protect(v);
            }
            g_array_free(in_range, TRUE);
        }
        g_array_free(code, TRUE);
    }
    for (guint i = 0; i < old->len; i++) {
        uint64_t page = g_array_index(old, uint64_t, i);
        if (!g_hash_table_contains(alias_pages, PAGE_KEY(page)) && !g_hash_table_contains(code_pages, PAGE_KEY(page)))
            page_restore_rights(page);
    }
    g_array_free(old, TRUE);
}

static void code_protect(uint64_t page, bool protect);

/* Drop the translated code of a code page (no lock held). The cache calls protect(page, false) for a page
   it had code on; if it had none (the set and the cache disagree), the page gets its rights back here. */
static void code_page_drop(uint64_t page)
{
    if (!tb_invalidate_page(page) && guest_mem_page_is_code(page))
        code_protect(page, false);
}

/* A write to an alias page: drop the code it shows (whose release gives the page its rights back). */
static void alias_written(uint64_t page)
{
    guest_mem_lock();
    FilePage fp;
    GArray *code = file_page_at(page, &fp) ? file_page_code(&fp) : g_array_new(FALSE, FALSE, sizeof(uint64_t));
    if (code->len == 0 && g_hash_table_remove(alias_pages, PAGE_KEY(page)))
        page_restore_rights(page);   /* stale: nothing it shows is code */
    guest_mem_unlock();
    for (guint i = 0; i < code->len; i++)
        code_page_drop(g_array_index(code, uint64_t, i));
    g_array_free(code, TRUE);
}

/* ---- self-modifying code ---- */

static void code_protect(uint64_t page, bool protect)
{
    page &= GUEST_PAGE_MASK;
    guest_mem_lock();
    GuestRegion *r = guest_region_find(page);
    if (protect) {
        /* A page that is not the guest's cannot hold guest code we must watch; ignore it. */
        if (r) {
            g_hash_table_add(code_pages, PAGE_KEY(page));
            g_hash_table_remove(alias_pages, PAGE_KEY(page));   /* protected as code now */
            page_deny_write(r, page);
            aliases_of_code(page);
        }
    } else if (g_hash_table_remove(code_pages, PAGE_KEY(page)) && r && !aliases_after_code(page)) {
        page_restore_rights(page);
    }
    guest_mem_unlock();
}

/* 1: the guest may run code on the page; 0: mapped, but it may not; -1: not the guest's. */
static int code_page_runnable(uint64_t page)
{
    guest_mem_lock();
    GuestRegion *r = guest_region_find(page & GUEST_PAGE_MASK);
    int runnable = !r ? -1 : (r->prot & PROT_EXEC) && (r->prot & PROT_READ);
    guest_mem_unlock();
    return runnable;
}

static bool code_executable(uint64_t page) { return code_page_runnable(page) == 1; }
static bool code_fetch_denied(uint64_t page) { return code_page_runnable(page) == 0; }

static const TBPageHooks page_hooks = {
    .protect = code_protect,
    .executable = code_executable,
    .fetch_denied = code_fetch_denied,
};

const TBPageHooks *guest_mem_page_hooks(void) { return &page_hooks; }

void guest_mem_install_hooks(void) { tb_set_page_hooks(&page_hooks); }

bool guest_mem_release_alias(uint64_t page)
{
    page &= GUEST_PAGE_MASK;
    guest_mem_lock();
    bool alias = g_hash_table_contains(alias_pages, PAGE_KEY(page));
    guest_mem_unlock();
    if (alias)
        alias_written(page);
    return alias;
}

bool guest_mem_page_is_code(uint64_t page)
{
    guest_mem_lock();
    bool code = g_hash_table_contains(code_pages, PAGE_KEY(page & GUEST_PAGE_MASK));
    guest_mem_unlock();
    return code;
}

size_t guest_mem_code_pages(uint64_t start, uint64_t len, uint64_t *pages, size_t max)
{
    guest_mem_lock();
    GArray *found = code_pages_in(start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len));
    guest_mem_unlock();
    size_t n = MIN((size_t)found->len, max);
    if (n)
        memcpy(pages, found->data, n * sizeof(uint64_t));
    n = found->len;
    g_array_free(found, TRUE);
    return n;
}

void guest_mem_invalidate_range(uint64_t start, uint64_t len)
{
    if (len == 0)
        return;
    guest_mem_lock();
    GArray *found = code_pages_in(start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len));
    GArray *aliases = pages_in(alias_pages, start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len), NULL);
    guest_mem_unlock();
    for (guint i = 0; i < found->len; i++)
        code_page_drop(g_array_index(found, uint64_t, i));
    for (guint i = 0; i < aliases->len; i++)
        alias_written(g_array_index(aliases, uint64_t, i));
    g_array_free(found, TRUE);
    g_array_free(aliases, TRUE);
}

void guest_mem_prepare_write(uint64_t addr, uint64_t len) { guest_mem_invalidate_range(addr, len); }

long guest_mem_protect_range(uint64_t start, uint64_t len, int prot)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    start &= GUEST_PAGE_MASK;
    long ret = 0;
    guest_mem_lock();
    /* Host rights run by run, so that no code page is ever writable, even for a moment. */
    GArray *code = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    if (prot & PROT_WRITE)
        pages_in(alias_pages, start, end, pages_in(code_pages, start, end, code));
    uint64_t at = start;
    for (guint i = 0; i <= code->len && ret == 0; i++) {
        uint64_t stop = i < code->len ? g_array_index(code, uint64_t, i) : end;
        if (stop > at && mprotect((void *)(uintptr_t)at, stop - at, prot) != 0)
            ret = -errno;
        if (i < code->len && ret == 0) {
            if (mprotect((void *)(uintptr_t)stop, GUEST_PAGE_SIZE, prot & ~PROT_WRITE) != 0)
                ret = -errno;
            at = stop + GUEST_PAGE_SIZE;
        }
    }
    g_array_free(code, TRUE);
    guest_mem_unlock();
    if (ret == 0)
        guest_mem_set_prot(start, end - start, prot);
    return ret;
}

bool guest_mem_handle_write_fault(uint64_t addr)
{
    static __thread uint64_t last_page;
    static __thread unsigned repeats;
    uint64_t page = addr & GUEST_PAGE_MASK;

    guest_mem_lock();
    GuestRegion *r = guest_region_find(page);
    int prot = r ? r->prot : 0;
    bool code = g_hash_table_contains(code_pages, PAGE_KEY(page));
    bool alias = g_hash_table_contains(alias_pages, PAGE_KEY(page));
    guest_mem_unlock();
    if (!(prot & PROT_WRITE))
        return false;           /* not the guest's, or not writable for it: a real fault */
    if (code) {
        code_page_drop(page);
        last_page = 0;
        return true;
    }
    if (alias) {
        alias_written(page);
        last_page = 0;
        return true;
    }
    /*
     * Writable for the guest and no longer a code page or an alias: another thread restored it between the
     * fault and now (if one protects it again meanwhile, the retry faults again). Make sure the host agrees
     * and retry; an mprotect failure means the page is not mapped at all. A bound on identical consecutive
     * faults keeps a fault of some other cause from looping forever.
     */
    if (page == last_page) {
        if (++repeats > 1000) {
            last_page = 0;
            return false;
        }
    } else {
        last_page = page;
        repeats = 0;
    }
    guest_mem_lock();
    bool watched = g_hash_table_contains(code_pages, PAGE_KEY(page)) ||
                   g_hash_table_contains(alias_pages, PAGE_KEY(page));
    int rc = watched ? 0 : mprotect((void *)(uintptr_t)page, GUEST_PAGE_SIZE, prot);
    guest_mem_unlock();
    return rc == 0;
}
