/*
 * The record of the guest's mappings: a sorted array of non-overlapping regions, split and merged the way
 * the kernel splits and merges its VMAs, so that /proc/self/maps reads like the real thing. Guest threads
 * are host threads, so one mutex guards it, and also the self-modifying-code state that decides a page's
 * host rights (code-pages.c).
 */
#define _GNU_SOURCE
#include "user/linux/guest-mem-internal.h"

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

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static GArray *regions;          /* GuestRegion, sorted by start, never overlapping */

void guest_mem_lock(void)
{
    pthread_mutex_lock(&mem_lock);
    if (!regions) {
        regions = g_array_new(FALSE, FALSE, sizeof(GuestRegion));
        code_pages_init();
    }
}

void guest_mem_unlock(void) { pthread_mutex_unlock(&mem_lock); }

guint guest_region_count(void) { return regions->len; }

GuestRegion *guest_region_at(guint i) { return &g_array_index(regions, GuestRegion, i); }

guint guest_region_search(uint64_t addr)
{
    guint lo = 0, hi = regions->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (guest_region_at(mid)->end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Make addr a region boundary: a region that straddles it becomes two. */
static void reg_split_at(uint64_t addr)
{
    guint i = guest_region_search(addr);
    if (i >= regions->len)
        return;
    GuestRegion *r = guest_region_at(i);
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
    guint i = guest_region_search(start), n = 0;
    while (i + n < regions->len && guest_region_at(i + n)->start < end) {
        g_free(guest_region_at(i + n)->name);
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
        GuestRegion *a = guest_region_at(i), *b = guest_region_at(i + 1);
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

static void reg_insert(const GuestRegion *r)
{
    reg_remove_range(r->start, r->end);
    guint i = guest_region_search(r->start);
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
    guest_mem_lock();
    reg_insert(&r);
    code_aliases_refresh(r.start, r.end);
    guest_mem_unlock();
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
    guest_mem_lock();
    reg_remove_range(start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len));
    code_aliases_refresh(start & GUEST_PAGE_MASK, GUEST_PAGE_ALIGN(start + len));
    guest_mem_unlock();
}

void guest_mem_set_prot(uint64_t start, uint64_t len, int prot)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    start &= GUEST_PAGE_MASK;
    guest_mem_lock();
    reg_split_at(start);
    reg_split_at(end);
    guint first = guest_region_search(start), last = first;
    for (guint i = first; i < regions->len && guest_region_at(i)->start < end; i++) {
        GuestRegion *r = guest_region_at(i);
        r->prot = prot;
        r->accounted |= !r->shared && (prot & PROT_WRITE);
        last = i;
    }
    reg_merge_around(first, last + 1);
    guest_mem_unlock();
}

void guest_mem_move(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len, bool keep_old)
{
    uint64_t old_end = old_addr + GUEST_PAGE_ALIGN(old_len);
    new_len = GUEST_PAGE_ALIGN(new_len);
    guest_mem_lock();
    reg_split_at(old_addr);
    reg_split_at(old_end);
    /* Copy the old records, shifted to the new place and cut to new_len. */
    GArray *moved = g_array_new(FALSE, FALSE, sizeof(GuestRegion));
    for (guint i = guest_region_search(old_addr); i < regions->len && guest_region_at(i)->start < old_end; i++) {
        GuestRegion r = *guest_region_at(i);
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
        code_aliases_refresh(old_addr, old_end);
    code_aliases_refresh(new_addr, new_addr + new_len);
    guest_mem_unlock();
}

bool guest_mem_is_guest(uint64_t start, uint64_t len)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    uint64_t at = start & GUEST_PAGE_MASK;
    guest_mem_lock();
    for (guint i = guest_region_search(at); i < regions->len && at < end; i++) {
        if (guest_region_at(i)->start > at)
            break;
        at = guest_region_at(i)->end;
    }
    guest_mem_unlock();
    return at >= end;
}

void guest_mem_walk(uint64_t start, uint64_t len, bool guest, void (*fn)(uint64_t start, uint64_t end, void *opaque),
                    void *opaque)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    uint64_t at = start & GUEST_PAGE_MASK;
    guest_mem_lock();
    guint i = guest_region_search(at);
    while (at < end) {
        if (i >= regions->len || guest_region_at(i)->start >= end) {
            if (!guest)
                fn(at, end, opaque);
            break;
        }
        if (guest_region_at(i)->start > at) {
            if (!guest)
                fn(at, guest_region_at(i)->start, opaque);
            at = guest_region_at(i)->start;
        }
        /* A guest piece: the regions that follow each other without a hole. */
        uint64_t piece_end = MIN(guest_region_at(i)->end, end);
        for (i++; piece_end < end && i < regions->len && guest_region_at(i)->start == piece_end; i++)
            piece_end = MIN(guest_region_at(i)->end, end);
        if (guest)
            fn(at, piece_end, opaque);
        at = piece_end;
    }
    guest_mem_unlock();
}

uint64_t guest_mem_find_free(uint64_t len, uint64_t low, uint64_t high)
{
    uint64_t found = 0;
    guest_mem_lock();
    /* The regions before i end at or below high; the gap below the lowest region reaching above high... */
    guint i = guest_region_search(high);
    uint64_t gap_end = high;
    if (i < regions->len && guest_region_at(i)->start < gap_end)
        gap_end = guest_region_at(i)->start;
    /* ...then the gap below each region before it, going down. */
    for (;;) {
        uint64_t gap_start = i > 0 ? MAX(guest_region_at(i - 1)->end, low) : low;
        if (gap_end >= gap_start && gap_end - gap_start >= len) {
            found = gap_end - len;
            break;
        }
        if (i == 0 || guest_region_at(i - 1)->start <= low)
            break;
        gap_end = guest_region_at(--i)->start;
    }
    guest_mem_unlock();
    return found;
}

bool guest_mem_any_guest(uint64_t start, uint64_t len)
{
    uint64_t end = GUEST_PAGE_ALIGN(start + len);
    guest_mem_lock();
    guint i = guest_region_search(start & GUEST_PAGE_MASK);
    bool any = i < regions->len && guest_region_at(i)->start < end;
    guest_mem_unlock();
    return any;
}

GuestRegion *guest_region_find(uint64_t addr)
{
    guint i = guest_region_search(addr);
    if (i < regions->len && guest_region_at(i)->start <= addr)
        return guest_region_at(i);
    return NULL;
}

int guest_mem_prot_at(uint64_t addr)
{
    guest_mem_lock();
    GuestRegion *r = guest_region_find(addr);
    int prot = r ? r->prot : -1;
    guest_mem_unlock();
    return prot;
}

bool guest_mem_lookup(uint64_t addr, uint64_t *start, uint64_t *end, GuestRegionInfo *info, char *name_buf,
                      size_t name_size)
{
    guest_mem_lock();
    GuestRegion *r = guest_region_find(addr);
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
    guest_mem_unlock();
    return r != NULL;
}

void guest_mem_reset(void)
{
    guest_mem_lock();
    for (guint i = 0; i < regions->len; i++)
        g_free(guest_region_at(i)->name);
    g_array_set_size(regions, 0);
    code_pages_reset();
    guest_mem_unlock();
}

char *guest_mem_format_maps(size_t *len)
{
    GString *out = g_string_new(NULL);
    guest_mem_lock();
    for (guint i = 0; i < regions->len; i++) {
        const GuestRegion *r = guest_region_at(i);
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
    guest_mem_unlock();
    if (len)
        *len = out->len;
    return g_string_free(out, FALSE);
}

void guest_mem_fork_lock(bool lock)
{
    if (lock)
        guest_mem_lock();
    else
        guest_mem_unlock();
}
