/*
 * Translations kept across runs: the file, its index, and the checks before a kept block is placed again
 * (see tb-persist.h for what is kept and why).
 *
 * The file: a header (magic, format version, identity), then records back to back, each 8-aligned:
 *
 *   TBPersistRecord | the guest bytes, padded to 8 | the backend's image (TCGBackend.freeze)
 *
 * Each write appends a batch: its records, then an index record listing them (pc, where, how long) that
 * ends in its own length, so that opening reads the batches' indexes from the end of the file backwards
 * (a few hundred KB) instead of every record's header (python3's file: 18 MB); a file whose indexes do not
 * add up (a torn write) is read record by record instead. Records are indexed by guest pc (a later record
 * replaces an earlier one at the same pc: it was made because the earlier one no longer matched). Records are read when used,
 * through a few windows of the file: mapping it instead would hold what a run has used twice, in the
 * file's pages and as placed code (the page cache maps large folios whole: python3's start-up held 6-8 MB
 * of its 16 MB file). A record's checksum is checked when it is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/tb-persist.h"

#define TBP_MAGIC "EMBERTBC"
/* Bumped whenever the record layout changes (the backend's image layout is the ember binary's, which the
   identity covers). */
#define TBP_VERSION 2
/* Past this size the file is written anew with this run's blocks only. */
#define TBP_MAX_FILE (64u << 20)

typedef struct TBPersistHeader {
    char magic[8];
    uint64_t version;
    uint64_t identity;
} TBPersistHeader;

typedef struct TBPersistRecord {
    uint32_t bytes;        /* the whole record, a multiple of 8 */
    uint32_t guest_size;   /* bytes of guest code (TranslationBlock.size) */
    uint64_t check;        /* tb_persist_hash of everything after this field */
    uint64_t pc;
    uint32_t flags;
    uint32_t icount;
    uint32_t cold;
    uint32_t image_size;
} TBPersistRecord;

#define TBP_DROP_EVERY (2u << 20)

#define TBP_ALIGN(n) (((n) + 7u) & ~(size_t)7)

/* A batch's index record: a TBPersistRecord with this pc and no guest bytes; its image is the batch's
   length before it (uint64_t), its entries (TBPersistIndexEntry, icount of them), and its own length
   (uint64_t), the file's last 8 bytes when it ends the file. */
#define TBP_INDEX_PC (~0ULL)
typedef struct TBPersistIndexEntry {
    uint64_t pc;
    uint32_t offset;   /* from the batch's start */
    uint32_t bytes, flags, cold;
} TBPersistIndexEntry;

/* Zeros up to the next multiple of 8 (so that a record's bytes are all defined: its checksum covers them). */
static void tbp_pad(GByteArray *out)
{
    static const guint8 zeros[8];
    g_byte_array_append(out, zeros, (guint)(TBP_ALIGN(out->len) - out->len));
}

/* A record as indexed: where it is, and what it is for (so that a mismatch needs no read). */
typedef struct TBPersistEntry {
    uint64_t pc;
    uint64_t offset;
    uint32_t bytes, flags;
    bool cold;
    bool superseded;   /* a later record has the same pc */
} TBPersistEntry;

/* A stretch of the file as read. */
typedef struct TBPersistWindow {
    uint8_t *buf;
    uint64_t offset;
    size_t len;
    uint64_t used;            /* when it last served a record (for replacing the oldest) */
} TBPersistWindow;

#define TBP_WINDOWS 16
#define TBP_WINDOW_STEP (64u << 10)
#define TBP_WINDOW_SLACK (8u << 10)
#define TBP_INDEX_READ (256u << 10)   /* the reads of the headers at open */
/* The records translated by this run are written out whenever this many bytes have gathered. */
#define TBP_PENDING_BYTES (1u << 20)

static struct {
    bool active;
    char *path;
    uint64_t identity;
    bool (*keepable)(uint64_t pc, uint64_t size);
    int fd;                   /* the file as opened (later saves may replace it under its name), or -1 */
    uint64_t file_size;
    /* The records in file order (a superseded one, whose pc has a later record, marked so), and the
       latest one of each guest pc: its position there plus 1, by open addressing (linear probing, a power
       of two long, at most half full, 0: empty). A run asks for blocks mostly in the order an earlier run
       made them, which is the file's: `next` follows that order and answers most lookups without the
       table's cache misses. */
    TBPersistEntry *order;
    uint32_t norder, next;
    uint32_t *index;
    size_t index_mask;
    TBPersistWindow win[TBP_WINDOWS];
    uint64_t fetches;
    uint8_t *big;             /* a record larger than a window */
    bool rewrite;             /* the file is missing, foreign or too big: the next write starts anew */
    uint64_t torn_at;         /* nonzero: the file's records end here, garbage follows (cut before appending) */
    pthread_mutex_t lock;     /* everything but the configuration: loads, keeps and saves take it */
    GByteArray *pending;      /* records translated since the last write */
    GArray *pending_index;    /* TBPersistIndexEntry of each */
    TBPersistStats stats;
} tbp = {.lock = PTHREAD_MUTEX_INITIALIZER};

uint64_t tb_persist_hash(uint64_t h, const void *p, size_t n)
{
    /* Four independent lanes (a multiply's latency each, not four in a row), folded at the end. */
    const uint8_t *b = p;
    const uint64_t k = 0x9e3779b97f4a7c15ULL;
    uint64_t lane[4] = {h, h ^ 1, h ^ 2, h ^ 3};
    for (; n >= 32; b += 32, n -= 32) {
        for (int i = 0; i < 4; i++) {
            uint64_t w;
            memcpy(&w, b + 8 * i, 8);
            lane[i] = (lane[i] ^ w) * k;
            lane[i] ^= lane[i] >> 32;
        }
    }
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        lane[0] = (lane[0] ^ w) * k;
        lane[0] ^= lane[0] >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, b, n);
    h = (lane[0] ^ w ^ (uint64_t)n) * k;
    for (int i = 1; i < 4; i++) {
        h = (h ^ lane[i]) * k;
        h ^= h >> 29;
    }
    return h;
}

static const uint8_t *record_guest(const TBPersistRecord *r)
{
    return (const uint8_t *)(r + 1);
}

static const uint8_t *record_image(const TBPersistRecord *r)
{
    return record_guest(r) + TBP_ALIGN(r->guest_size);
}

static uint64_t record_check(const TBPersistRecord *r)
{
    const uint8_t *after = (const uint8_t *)&r->check + sizeof(r->check);
    return tb_persist_hash(0, after, r->bytes - (size_t)(after - (const uint8_t *)r));
}

/* The index slot of pc: its entry's position plus 1, or the empty slot where it would go. */
static uint32_t *tbp_slot(uint64_t pc)
{
    size_t i = (size_t)((pc * 0x9e3779b97f4a7c15ULL) >> 32) & tbp.index_mask;
    while (tbp.index[i] && tbp.order[tbp.index[i] - 1].pc != pc) {
        i = (i + 1) & tbp.index_mask;
    }
    return &tbp.index[i];
}

/* The latest entry for pc, or NULL. */
static TBPersistEntry *tbp_find(uint64_t pc)
{
    if (!tbp.index) {
        return NULL;
    }
    if (tbp.next < tbp.norder && tbp.order[tbp.next].pc == pc && !tbp.order[tbp.next].superseded) {
        return &tbp.order[tbp.next++];
    }
    uint32_t at = *tbp_slot(pc);
    if (!at) {
        return NULL;
    }
    tbp.next = at;   /* the one after it, most likely next */
    return &tbp.order[at - 1];
}

/* Every record's header, from the first on (the file's batch indexes do not add up). A torn tail (a run
   that died while writing, a damaged file) ends the list; the next write cuts it off. */
static void tbp_scan_records(GArray *entries)
{
    uint8_t *buf = g_malloc(TBP_INDEX_READ);
    uint64_t buf_at = 0, at = sizeof(TBPersistHeader);
    size_t buf_len = 0;
    while (at < tbp.file_size) {
        if (at + sizeof(TBPersistRecord) > buf_at + buf_len) {
            ssize_t n = pread(tbp.fd, buf, TBP_INDEX_READ, (off_t)at);
            buf_at = at;
            buf_len = n > 0 ? (size_t)n : 0;
        }
        const TBPersistRecord *r = (const TBPersistRecord *)(buf + (at - buf_at));
        uint64_t left = tbp.file_size - at;
        if (buf_len < sizeof(*r) || r->bytes < sizeof(*r) || r->bytes > left || (r->bytes & 7) ||
            sizeof(*r) + TBP_ALIGN(r->guest_size) + r->image_size > r->bytes) {
            tbp.torn_at = at;
            break;
        }
        if (r->pc != TBP_INDEX_PC) {
            TBPersistEntry e = {.pc = r->pc, .offset = at, .bytes = r->bytes, .flags = r->flags, .cold = r->cold != 0};
            g_array_append_val(entries, e);
        }
        at += r->bytes;
    }
    g_free(buf);
}

/* The entries of the batches' index records, read from the end of the file backwards; false (and entries
   left as they were) if they do not add up to the whole file. */
static bool tbp_read_batch_indexes(GArray *entries)
{
    GPtrArray *batches = g_ptr_array_new_with_free_func(g_free);   /* last batch first */
    uint64_t end = tbp.file_size;
    bool ok = true;
    while (ok && end > sizeof(TBPersistHeader)) {
        uint64_t len = 0;
        ok = end >= sizeof(TBPersistHeader) + 8 && pread(tbp.fd, &len, 8, (off_t)(end - 8)) == 8 &&
             len >= sizeof(TBPersistRecord) + 16 && len <= end - sizeof(TBPersistHeader) && !(len & 7) &&
             len <= TBP_MAX_FILE;
        TBPersistRecord *r = ok ? g_malloc(len) : NULL;
        ok = ok && pread(tbp.fd, r, len, (off_t)(end - len)) == (ssize_t)len && r->bytes == len &&
             r->pc == TBP_INDEX_PC && r->guest_size == 0 &&
             r->image_size == 16 + (uint64_t)r->icount * sizeof(TBPersistIndexEntry) &&
             sizeof(*r) + r->image_size <= len && record_check(r) == r->check;
        uint64_t batch = 0;
        if (ok) {
            memcpy(&batch, record_image(r), 8);
            ok = batch <= end - len - sizeof(TBPersistHeader);
        }
        if (ok) {
            g_ptr_array_add(batches, r);
            end = end - len - batch;
        } else {
            g_free(r);
        }
    }
    ok = ok && end == sizeof(TBPersistHeader);
    for (guint b = batches->len; ok && b-- > 0;) {
        const TBPersistRecord *r = g_ptr_array_index(batches, b);
        uint64_t batch;
        memcpy(&batch, record_image(r), 8);
        const TBPersistIndexEntry *x = (const TBPersistIndexEntry *)(const void *)(record_image(r) + 8);
        for (uint32_t i = 0; i < r->icount; i++) {
            TBPersistEntry e = {.pc = x[i].pc, .offset = end + x[i].offset, .bytes = x[i].bytes,
                                .flags = x[i].flags, .cold = x[i].cold != 0};
            ok = ok && (uint64_t)x[i].offset + x[i].bytes <= batch && x[i].bytes >= sizeof(TBPersistRecord) &&
                 !(x[i].bytes & 7);
            g_array_append_val(entries, e);
        }
        end += batch + r->bytes;
    }
    g_ptr_array_free(batches, TRUE);
    return ok;
}

/* Index the open file; false if it is not a file of ours for this identity. */
static bool tbp_index_file(void)
{
    TBPersistHeader h;
    if (pread(tbp.fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h.magic, TBP_MAGIC, 8) != 0 ||
        h.version != TBP_VERSION || h.identity != tbp.identity) {
        return false;
    }
    GArray *entries = g_array_new(FALSE, FALSE, sizeof(TBPersistEntry));
    if (!tbp_read_batch_indexes(entries)) {
        g_array_set_size(entries, 0);
        tbp_scan_records(entries);
        tbp.stats.scanned = true;
    }
    size_t slots = 16;
    while (slots < 2 * (size_t)entries->len) {
        slots *= 2;
    }
    tbp.norder = entries->len;
    tbp.order = (TBPersistEntry *)(void *)g_array_free(entries, FALSE);
    tbp.index = g_new0(uint32_t, slots);
    tbp.index_mask = slots - 1;
    for (uint32_t i = 0; i < tbp.norder; i++) {
        uint32_t *slot = tbp_slot(tbp.order[i].pc);
        if (*slot) {
            tbp.order[*slot - 1].superseded = true;
        }
        *slot = i + 1;
    }
    tbp.stats.records = tbp.norder;
    return true;
}

bool tb_persist_open(const TBPersistConfig *cfg)
{
    tbp.path = g_strdup(cfg->path);
    tbp.identity = cfg->identity;
    tbp.keepable = cfg->keepable;
    tbp.pending = g_byte_array_new();
    tbp.pending_index = g_array_new(FALSE, FALSE, sizeof(TBPersistIndexEntry));
    tbp.rewrite = true;
    tbp.fd = open(cfg->path, O_RDONLY | O_CLOEXEC);
    if (tbp.fd < 0 && errno != ENOENT) {
        return false;
    }
    if (tbp.fd >= 0 && tbp.fd < cfg->fd_min) {
        int high = fcntl(tbp.fd, F_DUPFD_CLOEXEC, cfg->fd_min);
        close(tbp.fd);
        tbp.fd = high;   /* -1 (no such descriptor allowed): nothing is loaded */
    }
    struct stat st;
    if (tbp.fd >= 0 && fstat(tbp.fd, &st) == 0 && st.st_size > 0 && st.st_size <= TBP_MAX_FILE) {
        tbp.file_size = (uint64_t)st.st_size;
        tbp.rewrite = false;
        if (!tbp_index_file()) {
            tbp.rewrite = true;
        }
    }
    if (tbp.rewrite) {
        g_free(tbp.index);
        g_free(tbp.order);
        tbp.index = NULL;
        tbp.order = NULL;
        tbp.norder = 0;
        tbp.stats.records = 0;
    }
    tbp.active = true;
    return true;
}

/* The record of entry e, read through the windows: valid until the next fetch (tbp.lock held). A window
   starts on a multiple of TBP_WINDOW_STEP and reaches TBP_WINDOW_SLACK further, so that it holds every
   record starting in it but the rare long one (read alone); records are used mostly in the order they were
   written, and the few windows catch the jumps back. */
static const TBPersistRecord *tbp_fetch(const TBPersistEntry *e)
{
    tbp.fetches++;
    if (e->bytes < sizeof(TBPersistRecord)) {
        return NULL;
    }
    uint64_t base = e->offset & ~(uint64_t)(TBP_WINDOW_STEP - 1);
    if (e->offset + e->bytes > base + TBP_WINDOW_STEP + TBP_WINDOW_SLACK) {
        tbp.big = g_realloc(tbp.big, e->bytes);
        return pread(tbp.fd, tbp.big, e->bytes, (off_t)e->offset) == (ssize_t)e->bytes ? (void *)tbp.big : NULL;
    }
    TBPersistWindow *w = NULL, *oldest = &tbp.win[0];
    for (int i = 0; i < TBP_WINDOWS && !w; i++) {
        TBPersistWindow *x = &tbp.win[i];
        if (x->buf && x->offset == base) {
            w = x;
        } else if (x->used < oldest->used) {
            oldest = x;
        }
    }
    if (!w) {
        w = oldest;
        if (!w->buf) {
            w->buf = g_malloc(TBP_WINDOW_STEP + TBP_WINDOW_SLACK);
        }
        ssize_t n = pread(tbp.fd, w->buf, TBP_WINDOW_STEP + TBP_WINDOW_SLACK, (off_t)base);
        w->offset = base;
        w->len = n > 0 ? (size_t)n : 0;
    }
    w->used = tbp.fetches;
    size_t at = (size_t)(e->offset - base);
    return w->len >= at + e->bytes ? (const TBPersistRecord *)(w->buf + at) : NULL;
}

/* The whole file anew: header and the pending records, through a new name so that a reader never sees
   half of it. */
static bool tbp_write_new(void)
{
    char *tmp = g_strdup_printf("%s.%d.tmp", tbp.path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    if (ok) {
        TBPersistHeader h = {.version = TBP_VERSION, .identity = tbp.identity};
        memcpy(h.magic, TBP_MAGIC, 8);
        ok = write(fd, &h, sizeof(h)) == (ssize_t)sizeof(h) &&
             write(fd, tbp.pending->data, tbp.pending->len) == (ssize_t)tbp.pending->len;
        ok = close(fd) == 0 && ok;
        ok = ok && rename(tmp, tbp.path) == 0;
        if (!ok) {
            unlink(tmp);
        }
    }
    g_free(tmp);
    return ok;
}

/* Write the pending records (tbp.lock held): appended with one write (O_APPEND: records of runs that
   write at the same time do not interleave), or as a new file. */
/* The pending records' index record, appended to them (see TBP_INDEX_PC). */
static void tbp_append_batch_index(void)
{
    GByteArray *out = tbp.pending;
    uint64_t batch = out->len;
    size_t at = out->len;
    uint32_t count = tbp.pending_index->len;
    TBPersistRecord r = {.pc = TBP_INDEX_PC, .icount = count,
                         .image_size = 16 + count * (uint32_t)sizeof(TBPersistIndexEntry)};
    r.bytes = (uint32_t)(sizeof(r) + r.image_size);
    g_byte_array_append(out, (const guint8 *)&r, sizeof(r));
    g_byte_array_append(out, (const guint8 *)&batch, 8);
    g_byte_array_append(out, (const guint8 *)tbp.pending_index->data, count * (guint)sizeof(TBPersistIndexEntry));
    uint64_t len = r.bytes;
    g_byte_array_append(out, (const guint8 *)&len, 8);
    TBPersistRecord *w = (TBPersistRecord *)(void *)(out->data + at);
    w->check = record_check(w);
    g_array_set_size(tbp.pending_index, 0);
}

static void tbp_write_pending(void)
{
    if (tbp.pending->len == 0) {
        return;
    }
    tbp_append_batch_index();
    if (tbp.file_size + tbp.pending->len > TBP_MAX_FILE) {
        tbp.rewrite = true;
    }
    bool ok = false;
    if (!tbp.rewrite) {
        int fd = open(tbp.path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0 && tbp.torn_at && ftruncate(fd, (off_t)tbp.torn_at) == 0) {
            tbp.file_size = tbp.torn_at;
            tbp.torn_at = 0;
        }
        ok = fd >= 0 && !tbp.torn_at && write(fd, tbp.pending->data, tbp.pending->len) == (ssize_t)tbp.pending->len;
        if (fd >= 0) {
            close(fd);
        }
    }
    if (!ok) {
        tbp.file_size = 0;
        tbp.torn_at = 0;
        ok = tbp_write_new();
    }
    tbp.file_size += ok ? tbp.pending->len : 0;
    tbp.rewrite = !ok;
    g_byte_array_set_size(tbp.pending, 0);
}

void tb_persist_save(void)
{
    if (tbp.active) {
        pthread_mutex_lock(&tbp.lock);
        tbp_write_pending();
        pthread_mutex_unlock(&tbp.lock);
    }
}

void tb_persist_fork_child(void)
{
    if (tbp.active) {
        pthread_mutex_init(&tbp.lock, NULL);   /* another thread may have held it at the fork */
        g_byte_array_set_size(tbp.pending, 0);
        g_array_set_size(tbp.pending_index, 0);
    }
}

/* Is record r (its entry e) what the guest has at its pc now? */
static bool tbp_matches(const TBPersistEntry *e, const TBPersistRecord *r)
{
    if (r->bytes != e->bytes || r->pc != e->pc || r->guest_size == 0 || r->pc + r->guest_size < r->pc ||
        sizeof(*r) + TBP_ALIGN(r->guest_size) + (uint64_t)r->image_size > r->bytes || record_check(r) != r->check) {
        return false;
    }
    /* The guest may read and run these pages (so the comparison below cannot fault)... */
    for (uint64_t page = r->pc & TB_PAGE_MASK; page <= ((r->pc + r->guest_size - 1) & TB_PAGE_MASK);
         page += TB_PAGE_SIZE) {
        if (!tb_page_executable(page)) {
            return false;
        }
    }
    /* ...and they hold what the block was translated from (user mode: guest addresses are host ones). */
    return memcmp((const void *)(uintptr_t)r->pc, record_guest(r), r->guest_size) == 0;
}

bool tb_persist_load(TCGCPU *cpu, TranslationBlock *tb, bool cold)
{
    if (!tbp.active || !cpu->backend->thaw) {
        return false;
    }
    pthread_mutex_lock(&tbp.lock);
    const TBPersistEntry *e = tbp_find(tb->pc);
    bool placed = false;
    if (e && e->flags == tb->flags && (cold || !e->cold)) {
        const TBPersistRecord *r = tbp_fetch(e);
        if (r && tbp_matches(e, r)) {
            tb->size = r->guest_size;
            tb->icount = r->icount;
            tb->cold = r->cold != 0;
            placed = cpu->backend->thaw(tb, record_image(r), r->image_size) == 0;
            tbp.stats.loaded += placed;
        } else {
            tbp.stats.stale++;
        }
    }
    pthread_mutex_unlock(&tbp.lock);
    return placed;
}

void tb_persist_keep(TCGCPU *cpu, const TranslationBlock *tb)
{
    if (!tbp.active || !cpu->backend->freeze) {
        return;
    }
    if (tb->size == 0 || !tbp.keepable(tb->pc, tb->size)) {
        pthread_mutex_lock(&tbp.lock);
        tbp.stats.unkept++;
        pthread_mutex_unlock(&tbp.lock);
        return;
    }
    pthread_mutex_lock(&tbp.lock);
    GByteArray *out = tbp.pending;
    size_t at = out->len;
    TBPersistRecord r = {.guest_size = tb->size, .pc = tb->pc, .flags = tb->flags, .icount = tb->icount,
                         .cold = tb->cold};
    g_byte_array_append(out, (const guint8 *)&r, sizeof(r));
    g_byte_array_append(out, (const guint8 *)(uintptr_t)tb->pc, tb->size);
    tbp_pad(out);
    size_t image_at = out->len;
    if (!cpu->backend->freeze(tb, out)) {
        g_byte_array_set_size(out, at);
        tbp.stats.unkept++;
    } else {
        size_t image_size = out->len - image_at;
        tbp_pad(out);
        TBPersistRecord *w = (TBPersistRecord *)(out->data + at);
        w->image_size = (uint32_t)image_size;
        w->bytes = (uint32_t)(out->len - at);
        w->check = record_check(w);
        TBPersistIndexEntry x = {.pc = tb->pc, .offset = (uint32_t)at, .bytes = w->bytes, .flags = tb->flags,
                                 .cold = tb->cold};
        g_array_append_val(tbp.pending_index, x);
        tbp.stats.kept++;
        if (out->len >= TBP_PENDING_BYTES) {
            tbp_write_pending();
        }
    }
    pthread_mutex_unlock(&tbp.lock);
}

TBPersistStats tb_persist_stats(void)
{
    pthread_mutex_lock(&tbp.lock);
    TBPersistStats s = tbp.stats;
    pthread_mutex_unlock(&tbp.lock);
    return s;
}
