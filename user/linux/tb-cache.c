/* ember-x86_64's translation cache file: its name, its identity and its saves (tb-cache.h). */
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/tb-persist.h"
#include "user/linux/guest-mem.h"
#include "user/linux/syscall.h"
#include "user/linux/tb-cache.h"
#include "user/linux/thread.h"

static bool tb_cache_open;
static uint64_t tb_cache_exe_lo, tb_cache_exe_hi;

/* Is the code at addr where it will be on the next run: in the main program (a fixed address: ET_EXEC, or
   elf-load's PIE base), or in a file the guest mapped into its top-down area (guest-mem.h), which it fills
   the same way on every run that maps the same files in the same order? */
static bool tb_cache_fixed_at(uint64_t addr)
{
    if (addr >= tb_cache_exe_lo && addr < tb_cache_exe_hi) {
        return true;
    }
    GuestRegionInfo info;
    uint64_t start, end;
    return addr >= GUEST_MMAP_LOW && addr < GUEST_MMAP_TOP && guest_mem_lookup(addr, &start, &end, &info, NULL, 0) &&
           info.kind == GUEST_REGION_FILE && !info.shared;
}

static bool tb_cache_keepable(uint64_t pc, uint64_t size)
{
    return tb_cache_fixed_at(pc) && tb_cache_fixed_at(pc + size - 1);
}

/* What identifies a file's version: device, inode, size, modification time. */
static uint64_t tb_cache_hash_file(uint64_t h, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return h;
    }
    uint64_t id[5] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
                      (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec};
    return tb_persist_hash(h, id, sizeof(id));
}

static uint64_t tb_cache_hash_str(uint64_t h, const char *s)
{
    return tb_persist_hash(h, s, strlen(s) + 1);
}

/*
 * The directory is bounded: past TB_CACHE_DIR_MAX bytes of files, the ones least recently written or used
 * go (oldest first) until TB_CACHE_DIR_KEEP are left. A file in use is touched when it is opened, so that a
 * program run often but translating nothing new keeps its file.
 */
#define TB_CACHE_DIR_MAX (512ULL << 20)
#define TB_CACHE_DIR_KEEP (256ULL << 20)

typedef struct TBCacheFile {
    char *path;
    uint64_t bytes;
    int64_t mtime;
} TBCacheFile;

static gint tb_cache_older_first(gconstpointer a, gconstpointer b)
{
    int64_t x = ((const TBCacheFile *)a)->mtime, y = ((const TBCacheFile *)b)->mtime;
    return x < y ? -1 : x > y;
}

static void tb_cache_trim(const char *dir, const char *keep)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d) {
        return;
    }
    GArray *files = g_array_new(FALSE, FALSE, sizeof(TBCacheFile));
    uint64_t total = 0;
    for (const char *name; (name = g_dir_read_name(d));) {
        struct stat st;
        char *path = g_build_filename(dir, name, NULL);
        if (g_str_has_suffix(name, ".tbc") && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            TBCacheFile f = {path, (uint64_t)st.st_size, (int64_t)st.st_mtime};
            g_array_append_val(files, f);
            total += f.bytes;
        } else {
            g_free(path);
        }
    }
    g_dir_close(d);
    if (total > TB_CACHE_DIR_MAX) {
        g_array_sort(files, tb_cache_older_first);
        for (guint i = 0; i < files->len && total > TB_CACHE_DIR_KEEP; i++) {
            const TBCacheFile *f = &g_array_index(files, TBCacheFile, i);
            if (strcmp(f->path, keep) != 0 && unlink(f->path) == 0) {
                total -= f->bytes;
            }
        }
    }
    for (guint i = 0; i < files->len; i++) {
        g_free(g_array_index(files, TBCacheFile, i).path);
    }
    g_array_free(files, TRUE);
}

bool linux_tb_cache_open(const LinuxOptions *o, const LinuxElfImage *img, const char *ember_path,
                         const TCGBackend *backend)
{
    if (o->tb_cache && strcmp(o->tb_cache, "off") == 0) {
        return false;
    }
    if (!backend->freeze || img->end_code <= img->start_code) {
        return false;
    }
    char *dir = o->tb_cache ? g_strdup(o->tb_cache) : g_build_filename(g_get_user_cache_dir(), "ember", "tb", NULL);
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        g_free(dir);
        return false;
    }
    /* The translations depend on ember's build, the CPU model, the backend and (through the addresses
       they were made for) the program; the guest bytes are checked block by block besides. */
    uint64_t id = tb_cache_hash_file(0, ember_path);
    id = tb_cache_hash_file(id, img->exe_path);
    id = tb_cache_hash_str(id, o->cpu_model ? o->cpu_model : "max");
    id = tb_cache_hash_str(id, backend->name);
    char *base = g_path_get_basename(img->exe_path);
    char *name = g_strdup_printf("%s-%016llx.tbc", base,
                                 (unsigned long long)tb_cache_hash_str(0, img->exe_path));
    char *path = g_build_filename(dir, name, NULL);
    tb_cache_exe_lo = img->start_code;
    tb_cache_exe_hi = img->end_code;
    TBPersistConfig cfg = {.path = path, .identity = id, .keepable = tb_cache_keepable, .fd_min = LINUX_HOST_FD_MIN};
    tb_cache_open = tb_persist_open(&cfg);
    utimensat(AT_FDCWD, path, NULL, 0);   /* used now (nothing when it does not exist yet) */
    tb_cache_trim(dir, path);
    g_free(path);
    g_free(name);
    g_free(base);
    g_free(dir);
    return tb_cache_open;
}

void linux_tb_cache_save(void)
{
    if (!tb_cache_open) {
        return;
    }
    tb_persist_save();
    if ((linux_process.log_mask & TCG_LOG_TB_CACHE) && linux_process.log) {
        TBPersistStats s = tb_persist_stats();
        fprintf(linux_process.log,
                "ember-x86_64: tb cache: %lu blocks placed from %lu kept, %lu stale, %lu translated and kept, %lu not "
                "kept%s\n",
                s.loaded, s.records, s.stale, s.kept, s.unkept, s.scanned ? " (the file was read record by record)" : "");
        fflush(linux_process.log);
    }
}
