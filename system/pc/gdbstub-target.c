/*
 * What gdb sees of the PC: each vCPU's registers (the system target description of core/gdbstub), memory
 * by virtual address through the page tables the CPU has loaded now (a walk of our own that sets no
 * accessed/dirty bits and never faults: unmapped or MMIO addresses are an error reply), and the table of
 * breakpoints and watchpoints the vCPU hooks consult.
 */
#include <errno.h>
#include <string.h>

#include "core/gdbstub/x86-regs.h"
#include "core/target-x86/sys-translate.h"
#include "core/target-x86/sys.h"
#include "core/tcg/tb.h"
#include "system/pc/gdbstub-priv.h"

#define PTE_P (1ull << 0)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define EFER_LMA (1ull << 10)

CPUX86State *pc_gdb_env(int index)
{
    PcGdb *g = &pc_gdb;
    if (index < 0 || index >= g->m->nr_vcpus) {
        return NULL;
    }
    if (g->kvm) {
        return g->shadow[index].valid ? g->shadow[index].env : NULL;
    }
    return accel_tcg_env(&g->m->vcpus[index]);
}

static CPUX86State *gdb_env(int tid)
{
    return pc_gdb_env(tid - 1);
}

/* The CPU whose page tables gdb's memory accesses use: the one it selected with Hg, else the stopped one. */
static CPUX86State *gdb_mem_env(void)
{
    GdbServer *s = &pc_gdb.server;
    CPUX86State *env = gdb_env(s->g_tid > 0 ? s->g_tid : s->last_stop.tid);
    return env ? env : gdb_env(1);
}

static bool read_pte(uint64_t paddr, bool wide, uint64_t *pte)
{
    uint32_t narrow;
    if (wide) {
        return machine_ram_read(pc_gdb.m, paddr, pte, 8);
    }
    if (!machine_ram_read(pc_gdb.m, paddr, &narrow, 4)) {
        return false;
    }
    *pte = narrow;
    return true;
}

/* Virtual -> physical for the debugger (Intel SDM vol. 3, 4.3-4.5); false: not mapped. */
bool pc_gdb_virt_to_phys(CPUX86State *env, uint64_t va, uint64_t *pa)
{
    X86SysState *sys = env->sys;
    bool lma = sys->efer & EFER_LMA;
    if (!(sys->cr0 & CR0_PG)) {
        *pa = va & 0xffffffffu;
        return true;
    }
    int shifts[4], nlevels;
    bool wide;
    uint64_t table;
    if (lma) {
        if ((uint64_t)(((int64_t)va << 16) >> 16) != va) {
            return false;   /* not canonical */
        }
        wide = true, nlevels = 4, table = sys->cr3 & PTE_ADDR;
        shifts[0] = 39, shifts[1] = 30, shifts[2] = 21, shifts[3] = 12;
    } else if (sys->cr4 & CR4_PAE) {
        va &= 0xffffffffu;
        uint64_t pdpte;
        if (!read_pte((sys->cr3 & 0xffffffe0u) + ((va >> 30) & 3) * 8, true, &pdpte) || !(pdpte & PTE_P)) {
            return false;
        }
        wide = true, nlevels = 2, table = pdpte & PTE_ADDR;
        shifts[0] = 21, shifts[1] = 12;
    } else {
        va &= 0xffffffffu;
        wide = false, nlevels = 2, table = sys->cr3 & 0xfffff000u;
        shifts[0] = 22, shifts[1] = 12;
    }
    for (int level = 0; level < nlevels; level++) {
        unsigned bits = wide ? 9 : 10;
        uint64_t idx = (va >> shifts[level]) & ((1u << bits) - 1), pte;
        if (!read_pte(table + idx * (wide ? 8 : 4), wide, &pte) || !(pte & PTE_P)) {
            return false;
        }
        bool last = level == nlevels - 1;
        bool large = !last && (pte & PTE_PS) && shifts[level] <= 30 && (wide || (sys->cr4 & CR4_PSE));
        if (last || large) {
            uint64_t mask = (1ull << shifts[level]) - 1, frame;
            if (wide) {
                frame = pte & PTE_ADDR & ~mask;
            } else if (large) {
                frame = (pte & 0xffc00000u) | (((pte >> 13) & 0xff) << 32);   /* PSE-36 */
            } else {
                frame = pte & 0xfffff000u;
            }
            *pa = frame | (va & mask);
            return true;
        }
        table = wide ? (pte & PTE_ADDR) : (pte & 0xfffff000u);
    }
    return false;
}

/* Page by page; RAM only (reading a device register could change it). */
static long gdb_access_mem(uint64_t addr, void *buf, size_t len, bool write)
{
    CPUX86State *env = gdb_mem_env();
    size_t done = 0;
    while (done < len) {
        uint64_t va = addr + done, pa;
        size_t n = (size_t)(TB_PAGE_SIZE - (va & (TB_PAGE_SIZE - 1)));
        if (n > len - done) {
            n = len - done;
        }
        if (!pc_gdb_virt_to_phys(env, va, &pa)) {
            break;
        }
        /* machine_ram_write drops the translations of what it overwrites. */
        bool ok = write ? machine_ram_write(pc_gdb.m, pa, (const uint8_t *)buf + done, n)
                        : machine_ram_read(pc_gdb.m, pa, (uint8_t *)buf + done, n);
        if (!ok) {
            break;
        }
        done += n;
    }
    return done ? (long)done : (len ? -EFAULT : 0);
}

static long gdb_read_mem(void *opaque, uint64_t addr, void *buf, size_t len)
{
    (void)opaque;
    return gdb_access_mem(addr, buf, len, false);
}

static long gdb_write_mem(void *opaque, uint64_t addr, const void *buf, size_t len)
{
    (void)opaque;
    return gdb_access_mem(addr, (void *)buf, len, true);
}

static int gdb_read_reg(void *opaque, int tid, int regno, uint8_t *buf)
{
    (void)opaque;
    CPUX86State *env = gdb_env(tid);
    return env ? gdb_x86_sys_read_reg(env, regno, buf) : -1;
}

static int gdb_write_reg(void *opaque, int tid, int regno, const uint8_t *buf, int len)
{
    (void)opaque;
    CPUX86State *env = gdb_env(tid);
    if (!env) {
        return -1;
    }
    if (pc_gdb.kvm) {
        pc_gdb.shadow[tid - 1].dirty = true;   /* written back to KVM when the CPUs run again */
    }
    return gdb_x86_sys_write_reg(env, regno, buf, len);
}

static int gdb_threads(void *opaque, int *tids, int max)
{
    (void)opaque;
    int n = 0;
    for (int i = 0; i < pc_gdb.m->nr_vcpus && n < max; i++) {
        tids[n++] = i + 1;
    }
    return n;
}

static bool gdb_thread_alive(void *opaque, int tid)
{
    (void)opaque;
    return gdb_env(tid) != NULL;
}

/* ---- breakpoints and watchpoints ---- */

int pc_gdb_break_type(uint64_t linear)
{
    PcGdb *g = &pc_gdb;
    int type = -1;
    for (int i = 0; g->nbp && i < g->nbreaks; i++) {
        if (g->breaks[i].type <= GDB_BP_HW && g->breaks[i].addr == linear && type != GDB_BP_SW) {
            type = g->breaks[i].type;
        }
    }
    return type;
}

bool pc_gdb_breakpoint_at(uint64_t linear)
{
    return pc_gdb_break_type(linear) >= 0;
}

/* Breakpoints live in the translated code (a block ends before one): every change retranslates. The vCPUs
   are parked whenever gdb changes them. */
static int gdb_insert_bp(void *opaque, int type, uint64_t addr, uint64_t len)
{
    (void)opaque;
    PcGdb *g = &pc_gdb;
    if (type < GDB_BP_SW || type > GDB_WP_ACCESS) {
        return -ENOSYS;
    }
    if (type >= GDB_WP_WRITE && (len == 0 || len > 4096)) {
        return -EINVAL;
    }
    if (g->nbreaks == PC_GDB_MAX_BREAKS) {
        return -ENOSPC;
    }
    PcGdbBreak *b = &g->breaks[g->nbreaks];
    *b = (PcGdbBreak){.type = type, .addr = addr, .len = len, .slot = -1};
    if (g->kvm) {
        int err = pc_gdb_kvm_insert(g, b);   /* KVM: an INT3 in RAM or a debug register */
        if (err < 0) {
            return err;
        }
    }
    g->nbreaks++;
    if (g->kvm) {
        type <= GDB_BP_HW ? g->nbp++ : g->nwatch++;
    } else if (type <= GDB_BP_HW) {
        g->nbp++;
        tb_flush_all();
    } else {
        g->nwatch++;
    }
    return 0;
}

static void remove_at(PcGdb *g, int i)
{
    int type = g->breaks[i].type;
    if (g->kvm) {
        pc_gdb_kvm_remove(g, &g->breaks[i]);
        g->breaks[i] = g->breaks[--g->nbreaks];
        type <= GDB_BP_HW ? g->nbp-- : g->nwatch--;
        return;
    }
    g->breaks[i] = g->breaks[--g->nbreaks];
    if (type <= GDB_BP_HW) {
        g->nbp--;
        tb_flush_all();
    } else {
        g->nwatch--;
    }
}

static int gdb_remove_bp(void *opaque, int type, uint64_t addr, uint64_t len)
{
    (void)opaque;
    PcGdb *g = &pc_gdb;
    if (type < GDB_BP_SW || type > GDB_WP_ACCESS) {
        return -ENOSYS;
    }
    for (int i = 0; i < g->nbreaks; i++) {
        const PcGdbBreak *b = &g->breaks[i];
        if (b->type == type && b->addr == addr && (type <= GDB_BP_HW || b->len == len)) {
            remove_at(g, i);
            return 0;
        }
    }
    return 0;   /* already gone: fine for gdb */
}

void pc_gdb_clear_breaks(PcGdb *g)
{
    while (g->nbreaks) {
        remove_at(g, g->nbreaks - 1);
    }
}

uint64_t pc_gdb_linear_pc(CPUX86State *env)
{
    uint64_t lin = env->seg_base[R_CS] + env->tcg.pc;
    return (env->sys->efer & EFER_LMA) ? lin : (lin & 0xffffffffu);
}

void pc_gdb_predict(PcGdbCpu *c, CPUX86State *env)
{
    uint8_t code[15];
    uint64_t lin = pc_gdb_linear_pc(env);
    size_t got = x86_sys_fetch_code(env, lin, code, sizeof(code), false);
    c->npred = got ? gdb_x86_mem_accesses(env, x86_sys_machine_mode(env->cs_flags), code, got, lin, c->pred) : 0;
}

bool pc_gdb_watch_hit(const PcGdbCpu *c, GdbStop *stop)
{
    const PcGdb *g = &pc_gdb;
    for (int i = 0; i < g->nbreaks; i++) {
        const PcGdbBreak *b = &g->breaks[i];
        if (b->type < GDB_WP_WRITE) {
            continue;
        }
        for (int k = 0; k < c->npred; k++) {
            const GdbX86Access *a = &c->pred[k];
            bool kind = b->type == GDB_WP_WRITE ? a->write : b->type == GDB_WP_READ ? a->read : (a->read || a->write);
            if (kind && gdb_ranges_overlap(a->addr, a->len, b->addr, b->len)) {
                stop->watch_type = b->type;
                stop->watch_addr = a->addr > b->addr ? a->addr : b->addr;
                return true;
            }
        }
    }
    return false;
}

void pc_gdb_target_init(PcGdb *g)
{
    g->ops = (GdbTargetOps){
        .read_reg = gdb_read_reg,
        .write_reg = gdb_write_reg,
        .read_mem = gdb_read_mem,
        .write_mem = gdb_write_mem,
        .insert_bp = gdb_insert_bp,
        .remove_bp = gdb_remove_bp,
        .threads = gdb_threads,
        .thread_alive = gdb_thread_alive,
        .tdesc = gdb_x86_64_sys_tdesc,
        .num_regs = gdb_x86_sys_num_regs(),
    };
}
