/*
 * What gdb sees of a user-mode process: the registers of each guest thread, guest memory (through
 * /proc/self/mem, since guest addresses are ours), breakpoints kept in a table the translator consults,
 * write watchpoints checked after every instruction, and the auxv, program path and shared-library list.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/gdbstub/x86-regs.h"
#include "core/tcg/tb.h"
#include "user/linux/gdbstub.h"
#include "user/linux/stack.h"

LinuxGdbBreak linux_gdb_breaks[LINUX_GDB_MAX_BREAKS];
int linux_gdb_nbreaks, linux_gdb_nwatch;

static int gdb_mem_fd = -1;

static int mem_fd(void)
{
    if (gdb_mem_fd < 0) {
        gdb_mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    }
    return gdb_mem_fd;
}

long linux_gdb_read_mem(uint64_t addr, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(mem_fd(), (char *)buf + done, len - done, (off_t)(addr + done));
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    return done ? (long)done : (len ? -EFAULT : 0);
}

static long gdb_read_mem(void *opaque, uint64_t addr, void *buf, size_t len)
{
    (void)opaque;
    return linux_gdb_read_mem(addr, buf, len);
}

/* Translations of the written pages are dropped, so code gdb patches runs as patched. */
static long gdb_write_mem(void *opaque, uint64_t addr, const void *buf, size_t len)
{
    (void)opaque;
    ssize_t n = pwrite(mem_fd(), buf, len, (off_t)addr);
    if (n <= 0) {
        return -EFAULT;
    }
    for (uint64_t page = addr & TB_PAGE_MASK; page < addr + (uint64_t)n; page += TB_PAGE_SIZE) {
        tb_invalidate_page(page);
    }
    return n;
}

static int gdb_read_reg(void *opaque, int tid, int regno, uint8_t *buf)
{
    (void)opaque;
    LinuxThread *t = linux_gdb_thread(tid);
    return t ? gdb_x86_read_reg(&t->env, regno, buf) : -1;
}

static int gdb_write_reg(void *opaque, int tid, int regno, const uint8_t *buf, int len)
{
    (void)opaque;
    LinuxThread *t = linux_gdb_thread(tid);
    return t ? gdb_x86_write_reg(&t->env, regno, buf, len) : -1;
}

bool linux_gdb_breakpoint_at(uint64_t pc)
{
    for (int i = 0; i < linux_gdb_nbreaks; i++) {
        if (linux_gdb_breaks[i].type <= GDB_BP_HW && linux_gdb_breaks[i].addr == pc) {
            return true;
        }
    }
    return false;
}

/* Blocks that contain addr (as their first instruction or later) must be translated again. */
static void invalidate_code_at(uint64_t addr)
{
    /* A block whose last instruction straddles into this page lists it as its second page: dropped too. */
    tb_invalidate_page(addr & TB_PAGE_MASK);
}

/*
 * Breakpoints never patch guest memory: the translator asks linux_gdb_breakpoint_at before each
 * instruction. Watchpoints make the stub single-step: writes (Z2) are detected by comparing the watched
 * bytes after every instruction and system call; reads and accesses (Z3, Z4) by decoding each instruction
 * before it runs and computing its memory operands (core/gdbstub/x86-watch.h; a system call's own accesses
 * to guest memory are not seen).
 */
static int gdb_insert_bp(void *opaque, int type, uint64_t addr, uint64_t len)
{
    (void)opaque;
    if (type < GDB_BP_SW || type > GDB_WP_ACCESS) {
        return -ENOSYS;
    }
    if (type >= GDB_WP_WRITE && (len == 0 || len > 8)) {
        return -EINVAL;
    }
    if (linux_gdb_nbreaks == LINUX_GDB_MAX_BREAKS) {
        return -ENOSPC;
    }
    LinuxGdbBreak *b = &linux_gdb_breaks[linux_gdb_nbreaks];
    memset(b, 0, sizeof(*b));
    b->type = type;
    b->addr = addr;
    b->len = len;
    if (type >= GDB_WP_WRITE) {
        if (linux_gdb_read_mem(addr, b->old, len) != (long)len) {
            return -EFAULT;
        }
        linux_gdb_nwatch++;
    } else {
        invalidate_code_at(addr);
    }
    linux_gdb_nbreaks++;
    return 0;
}

static void remove_at(int i)
{
    LinuxGdbBreak b = linux_gdb_breaks[i];
    linux_gdb_breaks[i] = linux_gdb_breaks[--linux_gdb_nbreaks];
    if (b.type >= GDB_WP_WRITE) {
        linux_gdb_nwatch--;
    } else if (!linux_gdb_breakpoint_at(b.addr)) {
        invalidate_code_at(b.addr);
    }
}

static int gdb_remove_bp(void *opaque, int type, uint64_t addr, uint64_t len)
{
    (void)opaque;
    if (type < GDB_BP_SW || type > GDB_WP_ACCESS) {
        return -ENOSYS;
    }
    for (int i = 0; i < linux_gdb_nbreaks; i++) {
        LinuxGdbBreak *b = &linux_gdb_breaks[i];
        if (b->type == type && b->addr == addr && (type < GDB_WP_WRITE || b->len == len)) {
            remove_at(i);
            return 0;
        }
    }
    return 0;   /* gdb may remove what is already gone */
}

void linux_gdb_clear_breaks(void)
{
    while (linux_gdb_nbreaks) {
        remove_at(linux_gdb_nbreaks - 1);
    }
}

static bool gdb_thread_alive(void *opaque, int tid)
{
    (void)opaque;
    return linux_gdb_thread(tid) != NULL;
}

/* ---- qXfer objects ---- */

static bool read_u64(uint64_t addr, uint64_t *v)
{
    return linux_gdb_read_mem(addr, v, 8) == 8;
}

static uint64_t auxv_get(uint64_t type)
{
    size_t bytes;
    const uint64_t *av = linux_stack_auxv(&bytes);
    for (size_t i = 0; av && i + 1 < bytes / 8; i += 2) {
        if (av[i] == type) {
            return av[i + 1];
        }
    }
    return 0;
}

/* The dynamic linker's r_debug, through the program's DT_DEBUG entry (0 until ld.so has filled it in). */
static uint64_t find_r_debug(void)
{
    enum { AT_PHDR_ = 3, AT_PHNUM_ = 5, PT_DYNAMIC_ = 2, PT_PHDR_ = 6, DT_DEBUG_ = 21 };
    uint64_t phdr = auxv_get(AT_PHDR_), phnum = auxv_get(AT_PHNUM_);
    uint64_t bias = 0, dyn = 0;
    for (uint64_t i = 0; phdr && i < phnum; i++) {
        uint32_t type;
        uint64_t vaddr;
        uint64_t ph = phdr + i * 56;   /* sizeof(Elf64_Phdr) */
        if (linux_gdb_read_mem(ph, &type, 4) != 4 || !read_u64(ph + 16, &vaddr)) {
            return 0;
        }
        if (type == PT_PHDR_) {
            bias = phdr - vaddr;
        } else if (type == PT_DYNAMIC_) {
            dyn = vaddr;
        }
    }
    if (!dyn) {
        return 0;
    }
    for (uint64_t d = bias + dyn;; d += 16) {
        uint64_t tag, val;
        if (!read_u64(d, &tag) || !read_u64(d + 8, &val) || tag == 0) {
            return 0;
        }
        if (tag == DT_DEBUG_) {
            return val;
        }
    }
}

static void read_string(uint64_t addr, GString *out)
{
    char c;
    for (int i = 0; i < 4096 && linux_gdb_read_mem(addr + (uint64_t)i, &c, 1) == 1 && c; i++) {
        g_string_append_c(out, c);
    }
}

/* The link map as gdb's library-list-svr4 document: every object after the first (the program itself). */
static void libraries_svr4(GString *out)
{
    uint64_t r_debug = find_r_debug(), lm = 0;
    if (!r_debug || !read_u64(r_debug + 8, &lm) || !lm) {
        g_string_append(out, "<library-list-svr4 version=\"1.0\"/>");
        return;
    }
    g_string_append_printf(out, "<library-list-svr4 version=\"1.0\" main-lm=\"0x%" PRIx64 "\">", lm);
    GString *name = g_string_new(NULL);
    uint64_t next = 0;
    for (int n = 0; read_u64(lm + 24, &next) && next && n < 4096; n++) {
        lm = next;
        uint64_t l_addr, l_name, l_ld;
        if (!read_u64(lm, &l_addr) || !read_u64(lm + 8, &l_name) || !read_u64(lm + 16, &l_ld)) {
            break;
        }
        g_string_truncate(name, 0);
        read_string(l_name, name);
        gchar *esc = g_markup_escape_text(name->str, -1);
        /* lmid: the link-map namespace (gdb 13 requires it); dlmopen namespaces are not followed. */
        g_string_append_printf(out, "<library name=\"%s\" lm=\"0x%" PRIx64 "\" l_addr=\"0x%" PRIx64
                               "\" l_ld=\"0x%" PRIx64 "\" lmid=\"0x0\"/>", esc, lm, l_addr, l_ld);
        g_free(esc);
    }
    g_string_free(name, TRUE);
    g_string_append(out, "</library-list-svr4>");
}

static int gdb_xfer_read(void *opaque, const char *object, const char *annex, GString *out)
{
    (void)opaque;
    (void)annex;
    if (strcmp(object, "auxv") == 0) {
        size_t bytes;
        const uint64_t *av = linux_stack_auxv(&bytes);
        if (!av) {
            return -1;
        }
        g_string_append_len(out, (const char *)av, (gssize)bytes);
        return 0;
    }
    if (strcmp(object, "exec-file") == 0) {
        g_string_append(out, linux_process.exe_path ? linux_process.exe_path : "");
        return 0;
    }
    if (strcmp(object, "libraries-svr4") == 0) {
        libraries_svr4(out);
        return 0;
    }
    return -1;
}

static int gdb_threads(void *opaque, int *tids, int max)
{
    (void)opaque;
    return linux_gdb_thread_ids(tids, max);
}

const GdbTargetOps linux_gdb_target_ops = {
    .read_reg = gdb_read_reg,
    .write_reg = gdb_write_reg,
    .read_mem = gdb_read_mem,
    .write_mem = gdb_write_mem,
    .insert_bp = gdb_insert_bp,
    .remove_bp = gdb_remove_bp,
    .threads = gdb_threads,
    .thread_alive = gdb_thread_alive,
    .xfer_read = gdb_xfer_read,
    .xfer_features = "qXfer:auxv:read+;qXfer:exec-file:read+;qXfer:libraries-svr4:read+",
    .tdesc = gdb_x86_64_tdesc,
    .num_regs = GDB_X86_NUM_REGS,
};
