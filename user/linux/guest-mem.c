/*
 * The record of the guest's mappings: a sorted array of non-overlapping regions, split and merged the way
 * the kernel splits and merges its VMAs, so that /proc/self/maps reads like the real thing. Guest threads
 * are host threads, so one mutex guards it. The self-modifying-code state (which pages are write-protected
 * because they hold translated code) lives here too: it is what decides a page's host rights.
 */
#define _GNU_SOURCE
#include "user/linux/guest-mem.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <glib.h>

typedef struct GuestRegion {
    uint64_t start, end;
    GuestRegionKind kind;
    int prot;
    bool shared;
    /* Private memory that has ever been writable is charged to the process (the kernel's VM_ACCOUNT) and
       keeps the charge after losing the write right, which keeps it from merging with never-written
       neighbours: RELRO shows as a VMA of its own. */
    bool accounted;
    uint64_t offset, dev, ino;
    char *name;
} GuestRegion;

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static GArray *regions;          /* GuestRegion, sorted by start, never overlapping */
static GHashTable *code_pages;   /* pages write-protected because they hold translated code */
/* Pages write-protected because they show, through a shared mapping of the same file, the same memory as
   a code page elsewhere (a JIT's writable view of its executable memfd): see "aliases" below. */
static GHashTable *alias_pages;

static void mem_lock_init(void)
{
    pthread_mutex_lock(&mem_lock);
    if (!regions) {
        regions = g_array_new(FALSE, FALSE, sizeof(GuestRegion));
        code_pages = g_hash_table_new(g_direct_hash, g_direct_equal);
        alias_pages = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
}

static void mem_unlock(void) { pthread_mutex_unlock(&mem_lock); }

static GuestRegion *reg_at(guint i) { return &g_array_index(regions, GuestRegion, i); }

/* Index of the first region whose end is above addr (regions.len when none). */
static guint reg_search(uint64_t addr)
{
    guint lo = 0, hi = regions->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (reg_at(mid)->end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Make addr a region boundary: a region that straddles it becomes two. */
static void reg_split_at(uint64_t addr)
{
    guint i = reg_search(addr);
    if (i >= regions->len)
        return;
    GuestRegion *r = reg_at(i);
    if (r->start >= addr)
        return;
    GuestRegion right = *r;
    right.start = addr;
    right.offset = r->offset + (addr - r->start);
    right.name = g_strdup(r->name);
    r->end = addr;
    g_array_insert_val(regions, i + 1, right);
}

static void reg_remove_range(uint64_t start, uint64_t end)
{
    reg_split_at(start);
    reg_split_at(end);
    guint i = reg_search(start), n = 0;
    while (i + n < regions->len && reg_at(i + n)->start < end) {
        g_free(reg_at(i + n)->name);
        n++;
    }
    if (n)
        g_array_remove_range(regions, i, n);
}

/* Would the kernel merge these two neighbouring VMAs? */
static bool reg_mergeable(const GuestRegion *a, const GuestRegion *b)
{
    if (a->end != b->start || a->kind != b->kind || a->prot != b->prot || a->shared != b->shared ||
        a->accounted != b->accounted)
        return false;
    if (a->kind != GUEST_REGION_FILE)
        return true;
    return a->dev == b->dev && a->ino == b->ino && g_strcmp0(a->name, b->name) == 0 &&
           a->offset + (a->end - a->start) == b->offset;
}

/* Merge neighbours around [from, to] (indices). */
static void reg_merge_around(guint from, guint to)
{
    if (from > 0)
        from--;
    for (guint i = from; i + 1 < regions->len && i <= to;) {
        GuestRegion *a = reg_at(i), *b = reg_at(i + 1);
        if (reg_mergeable(a, b)) {
            a->end = b->end;
            g_free(b->name);
            g_array_remove_index(regions, i + 1);
            if (to > 0)
                to--;
        } else {
            i++;
        }
    }
}

static void aliases_refresh(uint64_t start, uint64_t end);

static void reg_insert(const GuestRegion *r)
{
    reg_remove_range(r->start, r->end);
    guint i = reg_search(r->start);
    g_array_insert_val(regions, i, *r);
    reg_merge_around(i, i);
}

void guest_mem_record(uint64_t start, uint64_t len, const GuestRegionInfo *info)
{
    if (len == 0)
        return;
    GuestRegion r = {
        .start = start & GUEST_PAGE_MASK,
        .end = GUEST_PAGE_ALIGN(start + len),
        .kind = info->kind,
        .prot = info->prot,
        .shared = info->shared,
        .accounted = !info->shared && (info->prot & PROT_WRITE),
        .offset = info->kind == GUEST_REGION_FILE ? info->offset : 0,
        .dev = info->dev,
        .ino = info->ino,
        .name = info->kind == GUEST_REGION_FILE ? g_strdup(info->name) : NULL,
    };
    mem_lock_init();
    reg_insert(&r);
    aliases_refresh(r.start, r.end);
    mem_unlock();
}

void guest_mem_record_fd(uint64_t start, uint64_t len, int prot, bool shared, int fd, uint64_t offset)
{
    GuestRegionInfo info = { .kind = GUEST_REGION_ANON, .prot = prot, .shared = shared };
    char link[64], path[4096];
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof(path) - 1);
        path[n > 0 ? n : 0] = '\0';
        info.kind = GUEST_REGION_FILE;
        info.offset = offset;
        info.dev = st.st_dev;
        info.ino = st.st_ino;
        info.name = path;
    }
    guest_mem_record(start, len, &info);
}

void guest_mem_forget(uint64_t start, uint64_t len)
{
    if (len == 0)
        return;
    mem_lock_init();
    reg_remove_range(start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len));
    aliases_refresh(start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len));
    mem_unlock();
}

void guest_mem_set_prot(uint64_t start, uint64_t len, int prot)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    start &= GUEST_PAGE_MASK;
    mem_lock_init();
    reg_split_at(start);
    reg_split_at(end);
    guint first = reg_search(start), last = first;
    for (guint i = first; i < regions->len && reg_at(i)->start < end; i++) {
        GuestRegion *r = reg_at(i);
        r->prot = prot;
        r->accounted |= !r->shared && (prot & PROT_WRITE);
        last = i;
    }
    reg_merge_around(first, last + 1);
    mem_unlock();
}

void guest_mem_move(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len, bool keep_old)
{
    uint64_t old_end = old_addr + GUEST_PAGE_ALIGN(old_len);
    new_len = GUEST_PAGE_ALIGN(new_len);
    mem_lock_init();
    reg_split_at(old_addr);
    reg_split_at(old_end);
    /* Copy the old records, shifted to the new place and cut to new_len. */
    GArray *moved = g_array_new(FALSE, FALSE, sizeof(GuestRegion));
    for (guint i = reg_search(old_addr); i < regions->len && reg_at(i)->start < old_end; i++) {
        GuestRegion r = *reg_at(i);
        uint64_t rel = r.start - old_addr;
        if (rel >= new_len)
            break;
        r.start = new_addr + rel;
        r.end = new_addr + MIN(r.end - old_addr, new_len);
        r.name = g_strdup(r.name);
        g_array_append_val(moved, r);
    }
    /* Growing extends the last region, as the kernel extends the VMA. */
    if (moved->len) {
        GuestRegion *last = &g_array_index(moved, GuestRegion, moved->len - 1);
        last->end = new_addr + new_len;
    }
    if (!keep_old)
        reg_remove_range(old_addr, old_end);
    reg_remove_range(new_addr, new_addr + new_len);
    for (guint i = 0; i < moved->len; i++)
        reg_insert(&g_array_index(moved, GuestRegion, i));
    g_array_free(moved, TRUE);
    if (!keep_old)
        aliases_refresh(old_addr, old_end);
    aliases_refresh(new_addr, new_addr + new_len);
    mem_unlock();
}

bool guest_mem_is_guest(uint64_t start, uint64_t len)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    uint64_t at = start & GUEST_PAGE_MASK;
    mem_lock_init();
    for (guint i = reg_search(at); i < regions->len && at < end; i++) {
        if (reg_at(i)->start > at)
            break;
        at = reg_at(i)->end;
    }
    mem_unlock();
    return at >= end;
}

void guest_mem_walk(uint64_t start, uint64_t len, bool guest, void (*fn)(uint64_t start, uint64_t end, void *opaque),
                    void *opaque)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    uint64_t at = start & GUEST_PAGE_MASK;
    mem_lock_init();
    guint i = reg_search(at);
    while (at < end) {
        if (i >= regions->len || reg_at(i)->start >= end) {
            if (!guest)
                fn(at, end, opaque);
            break;
        }
        if (reg_at(i)->start > at) {
            if (!guest)
                fn(at, reg_at(i)->start, opaque);
            at = reg_at(i)->start;
        }
        /* A guest piece: the regions that follow each other without a hole. */
        uint64_t piece_end = MIN(reg_at(i)->end, end);
        for (i++; piece_end < end && i < regions->len && reg_at(i)->start == piece_end; i++)
            piece_end = MIN(reg_at(i)->end, end);
        if (guest)
            fn(at, piece_end, opaque);
        at = piece_end;
    }
    mem_unlock();
}

bool guest_mem_any_guest(uint64_t start, uint64_t len)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    mem_lock_init();
    guint i = reg_search(start & GUEST_PAGE_MASK);
    bool any = i < regions->len && reg_at(i)->start < end;
    mem_unlock();
    return any;
}

/* The region holding addr, with the lock held; NULL when none. */
static GuestRegion *reg_find(uint64_t addr)
{
    guint i = reg_search(addr);
    if (i < regions->len && reg_at(i)->start <= addr)
        return reg_at(i);
    return NULL;
}

int guest_mem_prot_at(uint64_t addr)
{
    mem_lock_init();
    GuestRegion *r = reg_find(addr);
    int prot = r ? r->prot : -1;
    mem_unlock();
    return prot;
}

bool guest_mem_lookup(uint64_t addr, uint64_t *start, uint64_t *end, GuestRegionInfo *info, char *name_buf,
                      size_t name_size)
{
    mem_lock_init();
    GuestRegion *r = reg_find(addr);
    if (r) {
        if (start)
            *start = r->start;
        if (end)
            *end = r->end;
        if (info) {
            *info = (GuestRegionInfo){ r->kind, r->prot, r->shared, r->offset, r->dev, r->ino, NULL };
            if (name_buf && name_size) {
                g_strlcpy(name_buf, r->name ? r->name : "", name_size);
                info->name = name_buf;
            }
        }
    }
    mem_unlock();
    return r != NULL;
}

void guest_mem_reset(void)
{
    mem_lock_init();
    for (guint i = 0; i < regions->len; i++)
        g_free(reg_at(i)->name);
    g_array_set_size(regions, 0);
    g_hash_table_remove_all(code_pages);
    g_hash_table_remove_all(alias_pages);
    mem_unlock();
}

char *guest_mem_format_maps(size_t *len)
{
    GString *out = g_string_new(NULL);
    mem_lock_init();
    for (guint i = 0; i < regions->len; i++) {
        const GuestRegion *r = reg_at(i);
        gsize line_start = out->len;
        g_string_append_printf(out, "%08" PRIx64 "-%08" PRIx64 " %c%c%c%c %08" PRIx64 " %02x:%02x %" PRIu64 " ",
                               r->start, r->end, r->prot & PROT_READ ? 'r' : '-', r->prot & PROT_WRITE ? 'w' : '-',
                               r->prot & PROT_EXEC ? 'x' : '-', r->shared ? 's' : 'p', r->offset,
                               major(r->dev), minor(r->dev), r->ino);
        const char *name = r->kind == GUEST_REGION_FILE ? r->name
                           : r->kind == GUEST_REGION_HEAP ? "[heap]"
                           : r->kind == GUEST_REGION_STACK ? "[stack]"
                                                           : NULL;
        if (name) {
            /* The kernel pads the fields to 25 + 6 * sizeof(void *) - 1 = 72 columns, then always adds one
               space before the name. */
            while (out->len - line_start < 72)
                g_string_append_c(out, ' ');
            g_string_append_c(out, ' ');
            g_string_append(out, name);
        }
        g_string_append_c(out, '\n');
    }
    mem_unlock();
    if (len)
        *len = out->len;
    return g_string_free(out, FALSE);
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

#define PAGE_KEY(page) ((gpointer)(uintptr_t)(page))

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
    GuestRegion *r = reg_find(page);
    if (!r || !region_is_file_view(r))
        return false;
    *fp = (FilePage){ r->dev, r->ino, r->offset + (page - r->start) };
    return true;
}

/* The pages in [start, end) that show fp, sorted by address. Lock held. */
static GArray *file_page_views(const FilePage *fp, uint64_t start, uint64_t end)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint i = reg_search(start); i < regions->len && reg_at(i)->start < end; i++) {
        const GuestRegion *r = reg_at(i);
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
    GuestRegion *r = reg_find(page);
    if (r && (r->prot & PROT_WRITE))
        mprotect((void *)(uintptr_t)page, GUEST_PAGE_SIZE, r->prot);
}

static void alias_protect(uint64_t page)
{
    GuestRegion *r = reg_find(page);
    if (!r || g_hash_table_contains(alias_pages, PAGE_KEY(page)))
        return;
    g_hash_table_add(alias_pages, PAGE_KEY(page));
    if (r->prot & PROT_WRITE)
        mprotect((void *)(uintptr_t)page, GUEST_PAGE_SIZE, r->prot & ~PROT_WRITE);
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
static void aliases_refresh(uint64_t start, uint64_t end)
{
    GArray *old = pages_in(alias_pages, start, end, NULL);
    for (guint i = 0; i < old->len; i++)
        g_hash_table_remove(alias_pages, PAGE_KEY(g_array_index(old, uint64_t, i)));
    bool views = false;
    for (guint i = reg_search(start); i < regions->len && reg_at(i)->start < end && !views; i++)
        views = region_is_file_view(reg_at(i));
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

/* A write to an alias page: drop the code it shows (whose release gives the page its rights back). */
static void alias_written(uint64_t page)
{
    mem_lock_init();
    FilePage fp;
    GArray *code = file_page_at(page, &fp) ? file_page_code(&fp) : g_array_new(FALSE, FALSE, sizeof(uint64_t));
    if (code->len == 0 && g_hash_table_remove(alias_pages, PAGE_KEY(page)))
        page_restore_rights(page);   /* stale: nothing it shows is code */
    mem_unlock();
    for (guint i = 0; i < code->len; i++) {
        uint64_t c = g_array_index(code, uint64_t, i);
        if (!tb_invalidate_page(c) && guest_mem_page_is_code(c))
            code_protect(c, false);
    }
    g_array_free(code, TRUE);
}

/* ---- self-modifying code ---- */


static void code_protect(uint64_t page, bool protect)
{
    page &= GUEST_PAGE_MASK;
    mem_lock_init();
    GuestRegion *r = reg_find(page);
    if (protect) {
        /* A page that is not the guest's cannot hold guest code we must watch; ignore it. */
        if (r) {
            g_hash_table_add(code_pages, (gpointer)(uintptr_t)page);
            g_hash_table_remove(alias_pages, PAGE_KEY(page));   /* protected as code now */
            if (r->prot & PROT_WRITE)
                mprotect((void *)(uintptr_t)page, GUEST_PAGE_SIZE, r->prot & ~PROT_WRITE);
            aliases_of_code(page);
        }
    } else if (g_hash_table_remove(code_pages, (gpointer)(uintptr_t)page) && r && !aliases_after_code(page) &&
               (r->prot & PROT_WRITE)) {
        mprotect((void *)(uintptr_t)page, GUEST_PAGE_SIZE, r->prot);
    }
    mem_unlock();
}

/* 1: the guest may run code on the page; 0: mapped, but it may not; -1: not the guest's. */
static int code_page_runnable(uint64_t page)
{
    mem_lock_init();
    GuestRegion *r = reg_find(page & GUEST_PAGE_MASK);
    int runnable = !r ? -1 : (r->prot & PROT_EXEC) && (r->prot & PROT_READ);
    mem_unlock();
    return runnable;
}

static bool code_executable(uint64_t page) { return code_page_runnable(page) == 1; }
static bool code_fetch_denied(uint64_t page) { return code_page_runnable(page) == 0; }

static const TBPageHooks page_hooks = {
    .protect = code_protect,
    .executable = code_executable,
    .fetch_denied = code_fetch_denied,
};

void guest_mem_fork_lock(bool lock)
{
    if (lock)
        mem_lock_init();
    else
        mem_unlock();
}

const TBPageHooks *guest_mem_page_hooks(void) { return &page_hooks; }

void guest_mem_install_hooks(void) { tb_set_page_hooks(&page_hooks); }

bool guest_mem_release_alias(uint64_t page)
{
    page &= GUEST_PAGE_MASK;
    mem_lock_init();
    bool alias = g_hash_table_contains(alias_pages, PAGE_KEY(page));
    mem_unlock();
    if (alias)
        alias_written(page);
    return alias;
}

bool guest_mem_page_is_code(uint64_t page)
{
    mem_lock_init();
    bool code = g_hash_table_contains(code_pages, (gpointer)(uintptr_t)(page & GUEST_PAGE_MASK));
    mem_unlock();
    return code;
}



size_t guest_mem_code_pages(uint64_t start, uint64_t len, uint64_t *pages, size_t max)
{
    mem_lock_init();
    GArray *found = code_pages_in(start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len));
    mem_unlock();
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
    mem_lock_init();
    GArray *found = code_pages_in(start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len));
    GArray *aliases = pages_in(alias_pages, start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len), NULL);
    mem_unlock();
    for (guint i = 0; i < found->len; i++) {
        uint64_t page = g_array_index(found, uint64_t, i);
        /* The cache calls protect(page, false) for pages it had code on; if it had none (the set and the
           cache disagree), give the page its rights back here. */
        if (!tb_invalidate_page(page) && guest_mem_page_is_code(page))
            code_protect(page, false);
    }
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
    mem_lock_init();
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
    mem_unlock();
    if (ret == 0)
        guest_mem_set_prot(start, end - start, prot);
    return ret;
}

bool guest_mem_handle_write_fault(uint64_t addr)
{
    static __thread uint64_t last_page;
    static __thread unsigned repeats;
    uint64_t page = addr & GUEST_PAGE_MASK;

    mem_lock_init();
    GuestRegion *r = reg_find(page);
    int prot = r ? r->prot : 0;
    bool code = g_hash_table_contains(code_pages, (gpointer)(uintptr_t)page);
    bool alias = g_hash_table_contains(alias_pages, PAGE_KEY(page));
    mem_unlock();
    if (!(prot & PROT_WRITE))
        return false;           /* not the guest's, or not writable for it: a real fault */
    if (code) {
        if (!tb_invalidate_page(page) && guest_mem_page_is_code(page))
            code_protect(page, false);
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
    mem_lock_init();
    bool watched = g_hash_table_contains(code_pages, (gpointer)(uintptr_t)page) ||
                   g_hash_table_contains(alias_pages, PAGE_KEY(page));
    int rc = watched ? 0 : mprotect((void *)(uintptr_t)page, GUEST_PAGE_SIZE, prot);
    mem_unlock();
    return rc == 0;
}
