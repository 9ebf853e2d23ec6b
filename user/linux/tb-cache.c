/* ember-x86_64's translation cache file: its name, its identity and its saves (tb-cache.h). */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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
