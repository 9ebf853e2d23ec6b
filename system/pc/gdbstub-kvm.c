/*
 * The gdb stub on KVM: the guest runs in the kernel, so instead of hooks in a translator the stub programs
 * KVM_SET_GUEST_DEBUG before the vCPUs run (breakpoints and watchpoints in the four debug registers, further
 * software breakpoints as INT3 bytes patched into RAM, single step with interrupts blocked) and takes
 * its stops from KVM_EXIT_DEBUG (accel.h's AccelKvmDebug, system/kvm/kvm-debug.c). gdb reads and writes a
 * shadow CPUX86State per vCPU, filled from KVM at each stop and written back when gdb changed it, so the
 * register and page-walk code is the TCG stub's. Limits: a vCPU gdb wants kept stopped while another
 * steps runs too; watchpoints single-step every CPU while any is set, as on TCG.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "core/target-x86/sys-translate.h"
#include "core/target-x86/sys.h"
#include "system/pc/gdbstub-priv.h"

#define DR6_BS (1ull << 14)

static uint32_t seg_attr(const X86Segment *s)
{
    return (uint32_t)(s->type & 0xf) | (s->s ? SEG_ATTR_S : 0) | ((uint32_t)(s->dpl & 3) << SEG_ATTR_DPL_SHIFT) |
           (s->present ? SEG_ATTR_P : 0) | (s->l ? SEG_ATTR_L : 0) | (s->db ? SEG_ATTR_DB : 0) |
           (s->g ? SEG_ATTR_G : 0);
}

static void shadow_from_kvm(PcGdbShadow *sh)
{
    CPUX86State *env = sh->env;
    X86SysState *sys = env->sys;
    const X86VcpuState *s = &sh->state;
    memcpy(env->regs, s->gpr, sizeof(env->regs));
    env->tcg.pc = s->rip;
    x86_set_eflags(env, s->rflags, ~0ull);
    const X86Segment *segs[X86_NB_SEGS] = {[R_ES] = &s->es, [R_CS] = &s->cs, [R_SS] = &s->ss,
                                           [R_DS] = &s->ds, [R_FS] = &s->fs, [R_GS] = &s->gs};
    for (int i = 0; i < X86_NB_SEGS; i++) {
        env->seg_sel[i] = segs[i]->selector;
        env->seg_base[i] = segs[i]->base;
        sys->seg_attr[i] = seg_attr(segs[i]);
    }
    sys->cr0 = s->cr0, sys->cr2 = s->cr2, sys->cr3 = s->cr3, sys->cr4 = s->cr4, sys->efer = s->efer;
    sys->cpl = (s->cr0 & 1) ? s->cs.dpl : 0;
    x86_sys_update_hflags(env);   /* the code mode, for decoding (watchpoints) */
    /* XSAVE's first 512 bytes are the FXSAVE image; the XMM registers live in ymm[] in ember's state. */
    memcpy(&env->fx, sh->xsave, sizeof(env->fx));
    for (int i = 0; i < 16; i++) {
        memcpy(env->ymm[i].b, sh->xsave + 160 + 16 * i, 16);
        memcpy(env->ymm[i].b + 16, sh->xsave + 576 + 16 * i, 16);   /* XSAVE's YMM_Hi128 component */
    }
}

static void shadow_to_kvm(PcGdbShadow *sh)
{
    CPUX86State *env = sh->env;
    X86SysState *sys = env->sys;
    X86VcpuState *s = &sh->state;
    memcpy(s->gpr, env->regs, sizeof(s->gpr));
    s->rip = env->tcg.pc;
    s->rflags = x86_get_eflags(env);
    X86Segment *segs[X86_NB_SEGS] = {[R_ES] = &s->es, [R_CS] = &s->cs, [R_SS] = &s->ss,
                                     [R_DS] = &s->ds, [R_FS] = &s->fs, [R_GS] = &s->gs};
    for (int i = 0; i < X86_NB_SEGS; i++) {
        segs[i]->selector = env->seg_sel[i];
        segs[i]->base = env->seg_base[i];
    }
    s->cr0 = sys->cr0, s->cr2 = sys->cr2, s->cr3 = sys->cr3, s->cr4 = sys->cr4, s->efer = sys->efer;
    memcpy(sh->xsave, &env->fx, sizeof(env->fx));
    for (int i = 0; i < 16; i++) {
        memcpy(sh->xsave + 160 + 16 * i, env->ymm[i].b, 16);
        memcpy(sh->xsave + 576 + 16 * i, env->ymm[i].b + 16, 16);
    }
}

static void shadows_alloc(PcGdbShadow *sh, int n)
{
    for (int i = 0; i < n; i++) {
        CPUX86State *env = g_aligned_alloc0(1, sizeof(CPUX86State), 64);
        env->sys = g_new0(X86SysState, 1);
        sh[i].env = env;
    }
}

void pc_gdb_kvm_init(PcGdb *g)
{
    g->shadow = g_new0(PcGdbShadow, g->m->nr_vcpus);
    g->kvm_scratch = g_new0(PcGdbShadow, g->m->nr_vcpus);
    shadows_alloc(g->shadow, g->m->nr_vcpus);
    shadows_alloc(g->kvm_scratch, g->m->nr_vcpus);
}

/*
 * Watchpoints on KVM: like TCG, the CPUs single-step while any is set and each instruction's memory
 * operands are computed before it runs (x86-watch.h) from the registers KVM gives; a hit stops the CPU
 * after the instruction. Code is read through the page tables, never through a soft-MMU.
 */
static void kvm_predict(PcGdb *g, PcGdbCpu *c, CPUX86State *env)
{
    uint8_t code[15];
    uint64_t lin = pc_gdb_linear_pc(env);
    size_t got = 0;
    while (got < sizeof(code)) {
        uint64_t a = lin + got, pa;
        size_t n = (size_t)(4096 - (a & 4095));
        n = n < sizeof(code) - got ? n : sizeof(code) - got;
        if (!pc_gdb_virt_to_phys(env, a, &pa) || !machine_ram_read(g->m, pa, code + got, n)) {
            break;
        }
        got += n;
    }
    c->npred = got ? gdb_x86_mem_accesses(env, x86_sys_machine_mode(env->cs_flags), code, got, lin, c->pred) : 0;
}

void pc_gdb_kvm_pull(PcGdb *g)
{
    for (int i = 0; i < g->m->nr_vcpus; i++) {
        PcGdbShadow *sh = &g->shadow[i];
        sh->valid = accel_kvm_debug.get && accel_kvm_debug.get(&g->m->vcpus[i], &sh->state, sh->xsave);
        sh->dirty = false;
        if (sh->valid) {
            shadow_from_kvm(sh);
        }
    }
}

/* A free debug register, or -1. */
static int free_slot(PcGdb *g)
{
    bool used[4] = {false};
    for (int i = 0; i < g->nbreaks; i++) {
        if (g->breaks[i].slot >= 0) {
            used[g->breaks[i].slot] = true;
        }
    }
    for (int slot = 0; slot < 4; slot++) {
        if (!used[slot]) {
            return slot;
        }
    }
    return -1;
}

/*
 * Software breakpoints take a free debug register first and an INT3 byte only when all four are used: an
 * execution breakpoint in a debug register leaves guest memory alone, and KVM's instruction emulator
 * (which runs everything on a PVM host) cannot run a guest INT3 intercepted for the debugger.
 */
int pc_gdb_kvm_insert(PcGdb *g, PcGdbBreak *b)
{
    if (b->type == GDB_BP_SW && (b->slot = free_slot(g)) >= 0) {
        return 0;
    }
    if (b->type == GDB_BP_SW) {
        CPUX86State *env = pc_gdb_env(g->server.g_tid > 0 ? g->server.g_tid - 1 : 0);
        uint8_t int3 = 0xcc;
        if (!env || !pc_gdb_virt_to_phys(env, b->addr, &b->paddr) || !machine_ram_read(g->m, b->paddr, &b->orig, 1) ||
            !machine_ram_write(g->m, b->paddr, &int3, 1)) {
            return -EFAULT;
        }
        b->patched = true;
        return 0;
    }
    /* Watchpoints single-step the CPUs (see kvm_predict) rather than use data breakpoints in the debug
       registers: KVM's instruction emulator, which is all a PVM host runs, does not take those. */
    if (b->type >= GDB_WP_WRITE) {
        return 0;
    }
    b->slot = free_slot(g);
    return b->slot >= 0 ? 0 : -ENOSPC;
}

void pc_gdb_kvm_remove(PcGdb *g, PcGdbBreak *b)
{
    if (b->patched) {
        machine_ram_write(g->m, b->paddr, &b->orig, 1);
        b->patched = false;
    }
    b->slot = -1;
}

void pc_gdb_kvm_resume(PcGdb *g)
{
    uint64_t dr[8] = {0};
    bool hw = false, sw = false;
    for (int i = 0; i < g->nbreaks; i++) {
        const PcGdbBreak *b = &g->breaks[i];
        sw |= b->patched;
        if (b->slot < 0) {
            continue;
        }
        /* DR7: local enable at bit 2n; R/W and LEN (bits 16 + 4n..) zero: an execution breakpoint. */
        dr[b->slot] = b->addr;
        dr[7] |= 1ull << (2 * b->slot);
        hw = true;
    }
    bool active = g->state != PC_GDB_IDLE;
    bool watching = active && g->nwatch > 0;
    g->kvm_control = active ? KVM_GUESTDBG_ENABLE | (sw ? KVM_GUESTDBG_USE_SW_BP : 0) |
                                  (hw ? KVM_GUESTDBG_USE_HW_BP : 0) | (watching ? KVM_GUESTDBG_SINGLESTEP : 0)
                            : 0;
    memcpy(g->kvm_dr, dr, sizeof(dr));
    for (int i = 0; i < g->m->nr_vcpus; i++) {
        Vcpu *v = &g->m->vcpus[i];
        PcGdbShadow *sh = &g->shadow[i];
        PcGdbCpu *c = &g->cpus[i];
        /* A CPU continuing from an armed execution breakpoint would stop there again at once: it first
           steps one instruction with the debug registers off (RF, the resume flag meant for this, is not
           honoured by KVM's instruction emulator), then gets them back (pc_gdb_kvm_debug_exit). */
        bool at_bp = false;
        for (int k = 0; active && sh->valid && c->kind == GDB_RESUME_CONTINUE && k < g->nbreaks; k++) {
            at_bp |= g->breaks[k].slot >= 0 && g->breaks[k].addr == pc_gdb_linear_pc(sh->env);
        }
        if (sh->valid && sh->dirty && accel_kvm_debug.set) {
            shadow_to_kvm(sh);
            accel_kvm_debug.set(v, &sh->state, sh->xsave);
        }
        c->npred = 0;
        if (watching && sh->valid) {
            kvm_predict(g, c, sh->env);
        }
        sh->valid = sh->dirty = false;
        uint32_t control = g->kvm_control;
        if (active && (c->kind == GDB_RESUME_STEP || at_bp)) {
            control |= KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_BLOCKIRQ;
        }
        c->step_over = at_bp;
        if (accel_kvm_debug.set_guest_debug) {
            static const uint64_t none[8];
            accel_kvm_debug.set_guest_debug(v, at_bp ? control & ~(uint32_t)KVM_GUESTDBG_USE_HW_BP : control,
                                            at_bp ? none : dr);
        }
    }
}

int pc_gdb_kvm_debug_exit(Vcpu *v, uint32_t exception, uint64_t pc, uint64_t dr6)
{
    PcGdb *g = &pc_gdb;
    if (__atomic_load_n(&g->state, __ATOMIC_ACQUIRE) == PC_GDB_IDLE) {
        return 0;
    }
    GdbStop stop = {0};
    PcGdbCpu *c = &g->cpus[v->index];
    if (exception == 1 && (dr6 & DR6_BS)) {
        if (c->npred && pc_gdb_watch_hit(c, &stop)) {
            c->npred = 0;
            return pc_gdb_vcpu_stop(v, &stop);   /* the instruction that touched it has run */
        }
        if (c->kind == GDB_RESUME_STEP) {
            return pc_gdb_vcpu_stop(v, &stop);
        }
        bool ours = c->step_over || g->nwatch > 0;
        if (c->step_over) {
            /* Off the breakpoint: continue with the debug registers armed. */
            c->step_over = false;
            accel_kvm_debug.set_guest_debug(v, g->kvm_control, g->kvm_dr);
        }
        if (g->nwatch > 0) {
            PcGdbShadow *sh = &g->kvm_scratch[v->index];
            c->npred = 0;
            if (accel_kvm_debug.get(v, &sh->state, sh->xsave)) {
                shadow_from_kvm(sh);
                kvm_predict(g, c, sh->env);
            }
        }
        if (ours) {
            return 2;
        }
    }
    if (exception == 1) {
        for (int i = 0; i < g->nbreaks; i++) {
            const PcGdbBreak *b = &g->breaks[i];
            if (b->slot >= 0 && (dr6 & (1ull << b->slot))) {
                stop.swbreak = b->type == GDB_BP_SW;
                stop.hwbreak = b->type == GDB_BP_HW;
                return pc_gdb_vcpu_stop(v, &stop);
            }
        }
        return 0;
    }
    if (exception == 3) {
        for (int i = 0; i < g->nbreaks; i++) {
            if (g->breaks[i].patched && g->breaks[i].addr == pc) {
                stop.swbreak = true;
                return pc_gdb_vcpu_stop(v, &stop);
            }
        }
    }
    return 0;
}
