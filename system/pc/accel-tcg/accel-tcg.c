/*
 * The TCG accelerator: the translator core runs each vCPU on its own thread. A vCPU is a CPUX86State
 * with its system half (core/target-x86/sys.h); guest memory goes through its soft-MMU, whose physical
 * side is this machine (RAM pages by machine_ram_ptr, everything else MMIO on m->mmio), and port I/O
 * goes straight to m->pio. Device accesses take the machine lock; nothing else here does, except the
 * interrupt-controller queries of accel.h.
 *
 * vcpu_run runs the translator until something needs the vCPU loop (system/pc/vcpu.c): HLT, a triple
 * fault, a stop/INIT/SIPI request. Exceptions, external interrupts and NMIs are delivered here.
 * The backend is the JIT unless EMBER_TCG_BACKEND names another ("interp").
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/sys.h"
#include "core/tcg/cpu-exec.h"
#include "core/tcg/softmmu.h"
#include "core/tcg/tb.h"
#include "system/pc/accel-tcg/accel-tcg.h"
#include "system/pc/accel.h"

typedef struct TcgMachine {
    Machine *m;
    SoftMMUPhys phys;
    const TCGBackend *backend;
} TcgMachine;

static TcgMachine *tcg_machine_of(Machine *m) { return m->accel->state; }

CPUX86State *accel_tcg_env(Vcpu *v) { return v->accel_state; }

/* --- physical memory --- */

static void *tcg_ram_page(void *opaque, uint64_t paddr)
{
    return machine_ram_ptr(opaque, paddr & SOFTMMU_PAGE_MASK, SOFTMMU_PAGE_SIZE);
}

static uint64_t tcg_mmio_read(void *opaque, uint64_t paddr, unsigned size)
{
    Machine *m = opaque;
    machine_lock(m);
    uint64_t v = iobus_read(&m->mmio, paddr, size);
    machine_unlock(m);
    return v;
}

static void tcg_mmio_write(void *opaque, uint64_t paddr, uint64_t value, unsigned size)
{
    Machine *m = opaque;
    machine_lock(m);
    iobus_write(&m->mmio, paddr, value, size);
    machine_unlock(m);
}

/* --- the CPU's callbacks into the machine (owner: the Vcpu) --- */

static uint32_t tcg_io_read(void *owner, uint16_t port, unsigned size)
{
    Vcpu *v = owner;
    machine_lock(v->machine);
    uint32_t value = (uint32_t)iobus_read(&v->machine->pio, port, size);
    machine_unlock(v->machine);
    machine_log(v->machine, MACHINE_LOG_IOPORT, "in port %04x size %u value %x", port, size, value);
    return value;
}

static void tcg_io_write(void *owner, uint16_t port, uint32_t value, unsigned size)
{
    Vcpu *v = owner;
    machine_log(v->machine, MACHINE_LOG_IOPORT, "out port %04x size %u value %x", port, size, value);
    machine_lock(v->machine);
    iobus_write(&v->machine->pio, port, value, size);
    machine_unlock(v->machine);
}

static uint64_t tcg_get_apic_base(void *owner)
{
    Vcpu *v = owner;
    machine_lock(v->machine);
    uint64_t b = pc_cpu_apic_base(v);
    machine_unlock(v->machine);
    return b;
}

static bool tcg_set_apic_base(void *owner, uint64_t value)
{
    Vcpu *v = owner;
    machine_lock(v->machine);
    bool ok = pc_cpu_set_apic_base(v, value);
    machine_unlock(v->machine);
    return ok;
}

static uint8_t tcg_get_tpr(void *owner)
{
    Vcpu *v = owner;
    machine_lock(v->machine);
    uint8_t t = pc_cpu_get_tpr(v);
    machine_unlock(v->machine);
    return t;
}

static void tcg_set_tpr(void *owner, uint8_t cr8)
{
    Vcpu *v = owner;
    machine_lock(v->machine);
    pc_cpu_set_tpr(v, cr8);
    machine_unlock(v->machine);
}

static bool tcg_interrupt_pending(void *owner)
{
    Vcpu *v = owner;
    machine_lock(v->machine);
    bool p = pc_cpu_interrupt_pending(v);
    machine_unlock(v->machine);
    return p;
}

static const X86SysCallbacks tcg_sys_callbacks = {
    .io_read = tcg_io_read,
    .io_write = tcg_io_write,
    .get_apic_base = tcg_get_apic_base,
    .set_apic_base = tcg_set_apic_base,
    .get_tpr = tcg_get_tpr,
    .set_tpr = tcg_set_tpr,
    .interrupt_pending = tcg_interrupt_pending,
};

/* --- machine and vCPUs --- */

static bool tcg_machine_init(Machine *m, GError **err)
{
    (void)err;
    TcgMachine *t = g_new0(TcgMachine, 1);
    t->m = m;
    t->phys = (SoftMMUPhys){.ram_page = tcg_ram_page, .io_read = tcg_mmio_read, .io_write = tcg_mmio_write,
                            .opaque = m};
    const char *name = getenv("EMBER_TCG_BACKEND");
    t->backend = tcg_backend_find(name && *name ? name : "jit");
    if (!t->backend) {
        t->backend = &tcg_backend_interp;
    }
    m->accel->state = t;
    tb_cache_init(t->backend);
    tb_flush_all();   /* blocks of an earlier machine in this process (tests) are keyed by physical address */
    /* Translated code is tracked per guest-physical page; stores there drop the blocks. */
    softmmu_install_code_hooks();
    return true;
}

static void tcg_machine_destroy(Machine *m)
{
    g_free(m->accel->state);
    m->accel->state = NULL;
}

static unsigned tcg_log_mask(const Machine *m)
{
    unsigned mask = 0;
    if (m->log_mask & MACHINE_LOG_IN_ASM) mask |= TCG_LOG_IN_ASM;
    if (m->log_mask & MACHINE_LOG_OP) mask |= TCG_LOG_OP;
    if (m->log_mask & MACHINE_LOG_OP_OPT) mask |= TCG_LOG_OP_OPT;
    if (m->log_mask & MACHINE_LOG_EXEC) mask |= TCG_LOG_EXEC;
    if (m->log_mask & MACHINE_LOG_CPU) mask |= TCG_LOG_CPU;
    if (m->log_mask & MACHINE_LOG_INT) mask |= TCG_LOG_INT;
    return mask;
}

static bool tcg_vcpu_init(Vcpu *v, GError **err)
{
    (void)err;
    TcgMachine *t = tcg_machine_of(v->machine);
    CPUX86State *env = g_aligned_alloc0(1, sizeof(CPUX86State), 64);
    tcg_cpu_init(&env->tcg, &x86_target_ops, t->backend);
    env->model = x86_cpu_model_find(NULL);
    x86_sys_init(env, &tcg_sys_callbacks, &t->phys, v);
    env->sys->apic_id = (uint32_t)v->index;
    env->tcg.log_mask = tcg_log_mask(v->machine);
    env->tcg.log = env->tcg.log_mask ? stderr : NULL;
    v->accel_state = env;
    return true;
}

static void tcg_vcpu_destroy(Vcpu *v)
{
    CPUX86State *env = v->accel_state;
    if (!env) {
        return;
    }
    x86_sys_free(env);
    tcg_cpu_destroy(&env->tcg);
    g_aligned_free(env);
    v->accel_state = NULL;
}

static uint32_t tcg_seg_attr(const X86Segment *s)
{
    return (uint32_t)(s->type & 0xf) | (s->s ? SEG_ATTR_S : 0) | ((uint32_t)(s->dpl & 3) << SEG_ATTR_DPL_SHIFT) |
           (s->present ? SEG_ATTR_P : 0) | (s->avl ? 1u << 12 : 0) | (s->l ? SEG_ATTR_L : 0) |
           (s->db ? SEG_ATTR_DB : 0) | (s->g ? SEG_ATTR_G : 0) | (s->unusable ? SEG_ATTR_UNUSABLE : 0);
}

static X86Segment tcg_seg_out(uint16_t sel, uint64_t base, uint32_t limit, uint32_t attr)
{
    return (X86Segment){.base = base, .limit = limit, .selector = sel, .type = attr & 0xf,
                        .s = (attr & SEG_ATTR_S) != 0, .dpl = (attr >> SEG_ATTR_DPL_SHIFT) & 3,
                        .present = (attr & SEG_ATTR_P) != 0, .avl = (attr >> 12) & 1,
                        .l = (attr & SEG_ATTR_L) != 0, .db = (attr & SEG_ATTR_DB) != 0,
                        .g = (attr & SEG_ATTR_G) != 0, .unusable = (attr & SEG_ATTR_UNUSABLE) != 0};
}

static bool tcg_vcpu_set_state(Vcpu *v, const X86VcpuState *s, GError **err)
{
    (void)err;
    CPUX86State *env = v->accel_state;
    X86SysState *sys = env->sys;
    x86_sys_reset(env);
    memcpy(env->regs, s->gpr, sizeof(env->regs));
    env->tcg.pc = s->rip;
    sys->cr0 = s->cr0 | 0x10;
    sys->cr2 = s->cr2;
    sys->cr3 = s->cr3;
    sys->cr4 = s->cr4;
    sys->efer = s->efer;
    const X86Segment *segs[X86_NB_SEGS] = {[R_ES] = &s->es, [R_CS] = &s->cs, [R_SS] = &s->ss,
                                           [R_DS] = &s->ds, [R_FS] = &s->fs, [R_GS] = &s->gs};
    for (int i = 0; i < X86_NB_SEGS; i++) {
        x86_sys_set_seg(env, i, segs[i]->selector, segs[i]->base, segs[i]->limit, tcg_seg_attr(segs[i]));
    }
    sys->ldtr = (X86SegCache){.sel = s->ldt.selector, .base = s->ldt.base, .limit = s->ldt.limit,
                              .attr = tcg_seg_attr(&s->ldt)};
    sys->tr = (X86SegCache){.sel = s->tr.selector, .base = s->tr.base, .limit = s->tr.limit,
                            .attr = tcg_seg_attr(&s->tr)};
    sys->gdt_base = s->gdt.base, sys->gdt_limit = s->gdt.limit;
    sys->idt_base = s->idt.base, sys->idt_limit = s->idt.limit;
    sys->cpl = (s->cr0 & X86_CR0_PE) ? s->ss.dpl : 0;
    x86_set_eflags(env, s->rflags, ~0ull);
    sys->halted = false;
    x86_sys_update_hflags(env);
    x86_sys_tlb_flush(env);
    return true;
}

static bool tcg_vcpu_get_state(Vcpu *v, X86VcpuState *s, GError **err)
{
    (void)err;
    CPUX86State *env = v->accel_state;
    X86SysState *sys = env->sys;
    memset(s, 0, sizeof(*s));
    memcpy(s->gpr, env->regs, sizeof(s->gpr));
    s->rip = env->tcg.pc;
    s->rflags = x86_get_eflags(env);
    X86Segment *segs[X86_NB_SEGS] = {[R_ES] = &s->es, [R_CS] = &s->cs, [R_SS] = &s->ss,
                                     [R_DS] = &s->ds, [R_FS] = &s->fs, [R_GS] = &s->gs};
    for (int i = 0; i < X86_NB_SEGS; i++) {
        *segs[i] = tcg_seg_out(env->seg_sel[i], env->seg_base[i], sys->seg_limit[i], sys->seg_attr[i]);
    }
    s->ldt = tcg_seg_out(sys->ldtr.sel, sys->ldtr.base, sys->ldtr.limit, sys->ldtr.attr);
    s->tr = tcg_seg_out(sys->tr.sel, sys->tr.base, sys->tr.limit, sys->tr.attr);
    s->gdt = (X86DescTable){.base = sys->gdt_base, .limit = (uint16_t)sys->gdt_limit};
    s->idt = (X86DescTable){.base = sys->idt_base, .limit = (uint16_t)sys->idt_limit};
    s->cr0 = sys->cr0, s->cr2 = sys->cr2, s->cr3 = sys->cr3, s->cr4 = sys->cr4, s->efer = sys->efer;
    return true;
}

static void tcg_log_int(Vcpu *v, CPUX86State *env, const char *what, int vector, int err)
{
    Machine *m = v->machine;
    if (!(m->log_mask & MACHINE_LOG_INT)) {
        return;
    }
    machine_log(m, MACHINE_LOG_INT, "CPU %d: %s %d err=%x cs:rip=%04x:%016llx cr2=%llx cpl=%d", v->index, what,
                vector, err, env->seg_sel[R_CS], (unsigned long long)env->tcg.pc,
                (unsigned long long)env->sys->cr2, env->sys->cpl);
}

/* Take a deliverable external interrupt, if any. False: a triple fault. */
static bool tcg_take_interrupt(Vcpu *v, CPUX86State *env)
{
    Machine *m = v->machine;
    atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_INTERRUPT);
    if (!x86_sys_interrupts_enabled(env)) {
        return true;
    }
    machine_lock(m);
    int vector = pc_cpu_interrupt_pending(v) ? pc_cpu_interrupt_ack(v) : -1;
    machine_unlock(m);
    if (vector < 0) {
        return true;
    }
    tcg_log_int(v, env, "interrupt", vector, 0);
    return x86_sys_deliver(env, vector, false, 0) == X86_DELIVER_OK;
}

const AccelTcgDebug *accel_tcg_debug;

static void tcg_vcpu_run(Vcpu *v, AccelExit *exit)
{
    CPUX86State *env = v->accel_state;
    X86SysState *sys = env->sys;
    vcpu_current = v;
    for (;;) {
        unsigned req = atomic_load(&v->requests);
        if (req & (VCPU_REQ_STOP | VCPU_REQ_INIT | VCPU_REQ_SIPI)) {
            exit->reason = ACCEL_EXIT_REQUEST;
            return;
        }
        const AccelTcgDebug *dbg = accel_tcg_debug;
        bool masked = dbg && dbg->irq_masked(v);
        if ((req & VCPU_REQ_NMI) && !sys->nmi_blocked && !masked) {
            atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_NMI);
            tcg_log_int(v, env, "NMI", 2, 0);
            if (x86_sys_deliver(env, 2, false, 0) != X86_DELIVER_OK) {
                exit->reason = ACCEL_EXIT_SHUTDOWN;
                return;
            }
        }
        if (!masked && !tcg_take_interrupt(v, env)) {
            exit->reason = ACCEL_EXIT_SHUTDOWN;
            return;
        }
        if (sys->halted) {
            exit->reason = ACCEL_EXIT_HALT;
            return;
        }
        if (dbg && dbg->before_exec(v, env)) {
            exit->reason = ACCEL_EXIT_REQUEST;
            return;
        }
        TCGExitReason why = tcg_cpu_exec(&env->tcg);
        if (dbg && dbg->after_exec(v, env, why)) {
            exit->reason = ACCEL_EXIT_REQUEST;
            return;
        }
        switch (why) {
        case TCG_EXIT_EXCEPTION:
            tcg_log_int(v, env, sys->soft_int ? "software interrupt" : "exception", env->exception, env->error_code);
            if (x86_sys_deliver_pending(env) != X86_DELIVER_OK) {
                exit->reason = ACCEL_EXIT_SHUTDOWN;
                return;
            }
            break;
        case TCG_EXIT_HALT:
            /* HLT with an interrupt already waiting does not sleep (the loop top takes it). */
            if (x86_sys_interrupts_enabled(env) && tcg_interrupt_pending(v)) {
                sys->halted = false;
                break;
            }
            exit->reason = ACCEL_EXIT_HALT;
            return;
        case TCG_EXIT_SYSCALL:
            /* Not produced in system mode (SYSCALL has its own helper); keep going. */
            break;
        default:
            break;
        }
    }
}

static void tcg_vcpu_kick(Vcpu *v)
{
    CPUX86State *env = v->accel_state;
    if (env) {
        tcg_cpu_request_exit(&env->tcg);
    }
}

static void tcg_ram_written(Machine *m, uint64_t gpa, uint64_t len)
{
    (void)m;
    if (!len) {
        return;
    }
    for (uint64_t p = gpa & SOFTMMU_PAGE_MASK; p < gpa + len; p += SOFTMMU_PAGE_SIZE) {
        softmmu_notify_write(p);
    }
}

const AccelOps accel_tcg_ops = {
    .name = "tcg",
    .machine_init = tcg_machine_init,
    .machine_destroy = tcg_machine_destroy,
    .vcpu_init = tcg_vcpu_init,
    .vcpu_destroy = tcg_vcpu_destroy,
    .vcpu_set_state = tcg_vcpu_set_state,
    .vcpu_get_state = tcg_vcpu_get_state,
    .vcpu_run = tcg_vcpu_run,
    .vcpu_kick = tcg_vcpu_kick,
    .ram_written = tcg_ram_written,
};
