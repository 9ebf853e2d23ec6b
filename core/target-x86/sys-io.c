/*
 * Port I/O and the interrupt flag for a system CPU. In protected mode IN/OUT/CLI/STI need CPL <= IOPL
 * (the TSS I/O permission bitmap is not consulted: a CPL > IOPL access is #GP(0)). Ports reach the
 * machine through the owner's callbacks (system/pc/accel-tcg dispatches them on its iobus).
 */
#include "core/target-x86/helpers.h"
#include "core/target-x86/string-desc.h"
#include "core/target-x86/sys.h"

static void x86_sys_check_iopl(CPUX86State *env)
{
    X86SysState *sys = env->sys;
    uint64_t flags = x86_get_eflags(env);
    if (!(sys->cr0 & 1)) {
        return;
    }
    if ((flags & (1u << 17)) || sys->cpl > (int)((flags >> 12) & 3)) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
}

uint64_t helper_sys_in(CPUX86State *env, uint32_t port, uint32_t size)
{
    x86_sys_check_iopl(env);
    X86SysState *sys = env->sys;
    if (!sys->cb || !sys->cb->io_read) {
        return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
    }
    return sys->cb->io_read(sys->owner, (uint16_t)port, size);
}

void helper_sys_out(CPUX86State *env, uint32_t port, uint32_t value, uint32_t size)
{
    x86_sys_check_iopl(env);
    X86SysState *sys = env->sys;
    if (sys->cb && sys->cb->io_write) {
        uint32_t mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
        sys->cb->io_write(sys->owner, (uint16_t)port, value & mask, size);
    }
}

void helper_sys_cli(CPUX86State *env)
{
    x86_sys_check_iopl(env);
    env->eflags &= ~(uint64_t)X86_IF;
}

void helper_sys_sti(CPUX86State *env)
{
    x86_sys_check_iopl(env);
    if (!(env->eflags & X86_IF)) {
        env->eflags |= X86_IF;
        /* Interrupts stay blocked until the next instruction has run (the translator ends the block
           there); a HLT right after STI still wakes for an interrupt. */
        env->sys->irq_shadow = true;
        env->sys->irq_shadow_pc = env->tcg.insn_pc;
    }
}

/*
 * INS/OUTS with or without REP: one element at a time through the soft-MMU, registers written back after
 * each, so a fault in the middle leaves RCX/RSI/RDI describing what is left (as the hardware does).
 * desc: element size (1, 2, 4) | out << 4 | rep << 5 | address-size code << 6 (0: 16, 1: 32, 2: 64) |
 * source segment << 8 (OUTS).
 */
void helper_sys_string_io(CPUX86State *env, uint32_t desc)
{
    x86_sys_check_iopl(env);
    unsigned size = desc & 0xf;
    bool out = (desc >> 4) & 1, rep = (desc >> 5) & 1;
    unsigned aw = (desc >> 6) & 3;
    int seg = (int)((desc >> 8) & 7);
    uint64_t mask = aw == 0 ? 0xffff : aw == 1 ? 0xffffffffu : ~0ull;
    int idx = x86_sys_mmu_index(env);
    uint16_t port = (uint16_t)env->regs[R_EDX];
    int reg = out ? R_ESI : R_EDI;
    uint64_t base = out ? env->seg_base[seg] : env->seg_base[R_ES];
    if (x86_sys_code64(env) && (out ? (seg != R_FS && seg != R_GS) : true)) {
        base = 0;
    }
    if (rep && aw == 1) {
        str_a32_rep_start(env, out ? STR_OP_OUTS : STR_OP_INS);   /* vendor-dependent, see string-helpers.c */
    }
    for (;;) {
        if (rep && (env->regs[R_ECX] & mask) == 0) {
            break;
        }
        uint64_t off = env->regs[reg] & mask;
        if (out) {
            uint32_t v = (uint32_t)x86_sys_ld(env, base + off, size, idx);
            helper_sys_out(env, port, v, size);
        } else {
            /* Check the destination before the port is read (a read may have side effects). */
            x86_sys_host_ptr(env, base + off, 1, true);
            uint32_t v = (uint32_t)helper_sys_in(env, port, size);
            x86_sys_st(env, base + off, v, size, idx);
        }
        uint64_t next = env->df < 0 ? off - size : off + size;
        env->regs[reg] = mask == 0xffff ? (env->regs[reg] & ~0xffffull) | (next & 0xffff) : next & mask;
        if (!rep) {
            break;
        }
        uint64_t c = (env->regs[R_ECX] & mask) - 1;
        env->regs[R_ECX] = mask == 0xffff ? (env->regs[R_ECX] & ~0xffffull) | (c & 0xffff) : c & mask;
    }
}
