/*
 * Segmentation for a system CPU: descriptor reads from the GDT/LDT, segment-register loads with the
 * protected-mode checks (Intel SDM vol. 3, 5.5-5.8), and the translation flags that follow from CS, SS,
 * CR0 and EFER.
 */
#include "core/target-x86/sys.h"

void x86_sys_update_hflags(CPUX86State *env)
{
    X86SysState *sys = env->sys;
    uint32_t f = X86_TBFLAG_SYS | ((uint32_t)(sys->cpl & 3) << X86_TBFLAG_CPL_SHIFT);
    bool pe = sys->cr0 & 1;
    bool lma = sys->efer & (1ull << 10);
    uint32_t cs = sys->seg_attr[R_CS];
    if (pe) {
        f |= X86_TBFLAG_PE;
    }
    if (lma) {
        f |= X86_TBFLAG_LMA;
    }
    bool code64 = lma && (cs & SEG_ATTR_L);
    if (!code64) {
        f |= (cs & SEG_ATTR_DB) ? X86_TBFLAG_CODE32 : X86_TBFLAG_CODE16;
        if (!(sys->seg_attr[R_SS] & SEG_ATTR_DB)) {
            f |= X86_TBFLAG_SS16;
        }
    }
    env->cs_flags = f;
    /* The CPL may have changed: generated code looks up the TLB of the current MMU index. */
    softmmu_bind(&sys->mmu, &env->tcg, x86_sys_mmu_index(env));
}

void x86_sys_set_seg(CPUX86State *env, int seg, uint16_t sel, uint64_t base, uint32_t limit, uint32_t attr)
{
    if (seg == R_CS && base != env->seg_base[R_CS]) {
        /* The jump cache is keyed by EIP: with another CS base the same EIP is other code. */
        softmmu_jmp_flush(&env->sys->mmu);
    }
    env->seg_sel[seg] = sel;
    env->seg_base[seg] = base;
    env->sys->seg_limit[seg] = limit;
    env->sys->seg_attr[seg] = attr;
    if (seg == R_CS || seg == R_SS) {
        x86_sys_update_hflags(env);
    }
}

uint64_t x86_desc_base(uint64_t d)
{
    return ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
}

uint32_t x86_desc_limit(uint64_t d)
{
    uint32_t limit = (uint32_t)((d & 0xffff) | (((d >> 48) & 0xf) << 16));
    if (d & (1ull << 55)) {
        limit = (limit << 12) | 0xfff;   /* G: 4 KiB granularity */
    }
    return limit;
}

uint64_t x86_sys_read_desc(CPUX86State *env, uint16_t sel, uint64_t *hi_for_system)
{
    X86SysState *sys = env->sys;
    uint64_t base = sys->gdt_base;
    uint32_t limit = sys->gdt_limit;
    if (sel & 4) {
        if (sys->ldtr.attr & SEG_ATTR_UNUSABLE || !(sys->ldtr.sel & ~3)) {
            x86_raise_exception(env, EXCP_GP, sel & 0xfffc, 0);
        }
        base = sys->ldtr.base;
        limit = sys->ldtr.limit;
    }
    uint32_t index = sel & ~7u;
    uint32_t need = hi_for_system ? 15 : 7;
    if (index + need > limit) {
        x86_raise_exception(env, EXCP_GP, sel & 0xfffc, 0);
    }
    uint64_t d = x86_sys_ld(env, base + index, 8, X86_MMU_KERNEL);
    if (hi_for_system) {
        *hi_for_system = x86_sys_ld(env, base + index + 8, 8, X86_MMU_KERNEL);
    }
    return d;
}

/* The null selector in DS/ES/FS/GS (or SS at CPL < 3 in 64-bit mode): usable later only for faults. */
static void x86_sys_load_null(CPUX86State *env, int seg, uint16_t sel)
{
    x86_sys_set_seg(env, seg, sel, 0, 0, SEG_ATTR_UNUSABLE);
}

void x86_sys_load_seg(CPUX86State *env, int seg, uint16_t sel)
{
    X86SysState *sys = env->sys;
    if (!(sys->cr0 & 1) || (x86_get_eflags(env) & (1u << 17))) {
        /* Real mode (and virtual-8086): base = selector * 16; limit and attributes stay. */
        uint32_t attr = sys->seg_attr[seg] & ~SEG_ATTR_UNUSABLE;
        x86_sys_set_seg(env, seg, sel, (uint64_t)sel << 4, sys->seg_limit[seg], attr | SEG_ATTR_P | SEG_ATTR_S);
        return;
    }
    int cpl = sys->cpl;
    int rpl = sel & 3;
    if (!(sel & ~3)) {
        bool code64 = x86_sys_code64(env);
        if (seg == R_SS && !(code64 && cpl < 3)) {
            x86_raise_exception(env, EXCP_GP, 0, 0);
        }
        x86_sys_load_null(env, seg, sel);
        return;
    }
    uint64_t d = x86_sys_read_desc(env, sel, NULL);
    uint32_t attr = x86_desc_attr(d);
    int dpl = (attr >> SEG_ATTR_DPL_SHIFT) & 3;
    bool code = attr & 8;
    if (!(attr & SEG_ATTR_S)) {
        x86_raise_exception(env, EXCP_GP, sel & 0xfffc, 0);
    }
    if (seg == R_SS) {
        bool writable_data = !code && (attr & 2);
        if (!writable_data || rpl != cpl || dpl != cpl) {
            x86_raise_exception(env, EXCP_GP, sel & 0xfffc, 0);
        }
        if (!(attr & SEG_ATTR_P)) {
            x86_raise_exception(env, EXCP_SS, sel & 0xfffc, 0);
        }
    } else {
        bool readable = !code || (attr & 2);
        bool conforming_code = code && (attr & 4);
        if (!readable || (!conforming_code && (dpl < cpl || dpl < rpl))) {
            x86_raise_exception(env, EXCP_GP, sel & 0xfffc, 0);
        }
        if (!(attr & SEG_ATTR_P)) {
            x86_raise_exception(env, EXCP_NP, sel & 0xfffc, 0);
        }
    }
    uint64_t base = x86_desc_base(d);
    if (x86_sys_code64(env) && (seg == R_FS || seg == R_GS)) {
        base &= 0xffffffffu;   /* the 64-bit part of the base comes from the MSRs */
    }
    x86_sys_set_seg(env, seg, sel, base, x86_desc_limit(d), attr | 1 /* accessed */);
}
