/*
 * Model-specific registers and CPUID for a system CPU. MSRs a kernel writes to configure things we do
 * not model (MTRRs, PAT, MISC_ENABLE: fast strings on after reset) read back what was written; unknown
 * ones are #GP(0), as on a CPU that lacks them. CPUID starts from the user-mode model and adds what a kernel looks for (APIC, MSR,
 * PAE, PGE, PSE, MTRR, PAT) while hiding what is not implemented for a kernel (XSAVE and the AVX state,
 * MONITOR/MWAIT, x2APIC, TSC-deadline, SYSENTER) and the hypervisor bit.
 */
#include <x86intrin.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/sys.h"

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

bool x86_sys_rdmsr(CPUX86State *env, uint32_t msr, uint64_t *value)
{
    X86SysState *sys = env->sys;
    uint64_t v = 0;
    if (msr >= 0x200 && msr < 0x200 + 2 * X86_NB_MTRR_VAR) {
        *value = sys->mtrr_var[msr - 0x200];
        return true;
    }
    switch (msr) {
    case 0x10: v = __rdtsc() + env->tsc_offset; break;
    case 0x1b: v = sys->cb && sys->cb->get_apic_base ? sys->cb->get_apic_base(sys->owner) : 0xfee00900u; break;
    case 0x3a: v = 1; break;                       /* FEATURE_CONTROL: locked, nothing enabled */
    case 0x8b: v = 0; break;                       /* microcode revision */
    case 0xfe: v = 0x500 | X86_NB_MTRR_VAR; break; /* MTRRcap: WC, fixed ranges, 8 variable */
    case 0x174: v = sys->sysenter_cs; break;
    case 0x175: v = sys->sysenter_esp; break;
    case 0x176: v = sys->sysenter_eip; break;
    case 0x179: case 0x17a: v = 0; break;          /* MCG_CAP, MCG_STATUS */
    case 0x1a0: v = sys->misc_enable; break;
    case 0x250: v = sys->mtrr_fixed[0]; break;
    case 0x258: v = sys->mtrr_fixed[1]; break;
    case 0x259: v = sys->mtrr_fixed[2]; break;
    case 0x268: case 0x269: case 0x26a: case 0x26b: case 0x26c: case 0x26d: case 0x26e: case 0x26f:
        v = sys->mtrr_fixed[3 + msr - 0x268];
        break;
    case 0x277: v = sys->pat; break;
    case 0x2ff: v = sys->mtrr_def_type; break;
    case 0xc0000080: v = sys->efer; break;
    case 0xc0000081: v = sys->star; break;
    case 0xc0000082: v = sys->lstar; break;
    case 0xc0000083: v = sys->cstar; break;
    case 0xc0000084: v = sys->sfmask; break;
    case 0xc0000100: v = env->seg_base[R_FS]; break;
    case 0xc0000101: v = env->seg_base[R_GS]; break;
    case 0xc0000102: v = sys->kernel_gs_base; break;
    case 0xc0000103: v = sys->tsc_aux; break;
    default:
        if (msr >= 0xc0010000 && msr <= 0xc001ffff) {
            v = 0;   /* AMD's model-specific range (SYSCFG, NB_CFG...): nothing modelled, reads as 0 */
            break;
        }
        return false;
    }
    *value = v;
    return true;
}

static bool x86_canonical(uint64_t v) { return (uint64_t)(((int64_t)v << 16) >> 16) == v; }

bool x86_sys_wrmsr(CPUX86State *env, uint32_t msr, uint64_t v)
{
    X86SysState *sys = env->sys;
    if (msr >= 0x200 && msr < 0x200 + 2 * X86_NB_MTRR_VAR) {
        sys->mtrr_var[msr - 0x200] = v;
        return true;
    }
    switch (msr) {
    case 0x10: env->tsc_offset = v - __rdtsc(); break;
    case 0x1b:
        if (sys->cb && sys->cb->set_apic_base) {
            return sys->cb->set_apic_base(sys->owner, v);
        }
        break;
    case 0x8b: break;
    case 0x174: sys->sysenter_cs = v & 0xffff; break;
    case 0x175: sys->sysenter_esp = v; break;
    case 0x176: sys->sysenter_eip = v; break;
    case 0x179: case 0x17a: break;
    case 0x1a0: sys->misc_enable = v; break;
    case 0x250: sys->mtrr_fixed[0] = v; break;
    case 0x258: sys->mtrr_fixed[1] = v; break;
    case 0x259: sys->mtrr_fixed[2] = v; break;
    case 0x268: case 0x269: case 0x26a: case 0x26b: case 0x26c: case 0x26d: case 0x26e: case 0x26f:
        sys->mtrr_fixed[3 + msr - 0x268] = v;
        break;
    case 0x277: sys->pat = v; break;
    case 0x2ff: sys->mtrr_def_type = v; break;
    case 0xc0000080: {
        uint64_t allowed = EFER_SCE | EFER_LME | EFER_NXE;
        if (v & ~(allowed | EFER_LMA)) {
            return false;
        }
        if ((sys->cr0 & (1ull << 31)) && ((v ^ sys->efer) & EFER_LME)) {
            return false;   /* LME cannot change while paging is on */
        }
        uint64_t nv = (sys->efer & EFER_LMA) | (v & allowed);
        if ((nv ^ sys->efer) & EFER_NXE) {
            x86_sys_tlb_flush(env);
        }
        sys->efer = nv;
        x86_sys_update_hflags(env);
        break;
    }
    case 0xc0000081: sys->star = v; break;
    case 0xc0000082: if (!x86_canonical(v)) return false; sys->lstar = v; break;
    case 0xc0000083: if (!x86_canonical(v)) return false; sys->cstar = v; break;
    case 0xc0000084: sys->sfmask = v & 0xffffffffu; break;
    case 0xc0000100: if (!x86_canonical(v)) return false; env->seg_base[R_FS] = v; break;
    case 0xc0000101: if (!x86_canonical(v)) return false; env->seg_base[R_GS] = v; break;
    case 0xc0000102: if (!x86_canonical(v)) return false; sys->kernel_gs_base = v; break;
    case 0xc0000103: sys->tsc_aux = v & 0xffffffffu; break;
    default:
        if (msr >= 0xc0010000 && msr <= 0xc001ffff) {
            break;   /* AMD's model-specific range: writes are accepted and dropped */
        }
        return false;
    }
    return true;
}

void helper_sys_rdmsr(CPUX86State *env)
{
    uint64_t v;
    if (!x86_sys_rdmsr(env, (uint32_t)env->regs[R_ECX], &v)) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    env->regs[R_EAX] = v & 0xffffffffu;
    env->regs[R_EDX] = v >> 32;
}

void helper_sys_wrmsr(CPUX86State *env)
{
    uint64_t v = (env->regs[R_EDX] << 32) | (env->regs[R_EAX] & 0xffffffffu);
    if (!x86_sys_wrmsr(env, (uint32_t)env->regs[R_ECX], v)) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
}

void x86_sys_cpuid(CPUX86State *env, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    const X86CPUModel *model = env->model ? env->model : x86_cpu_model_find(NULL);
    x86_cpuid(model, leaf, sub, out);
    switch (leaf) {
    case 1:
        /* EDX: PSE TSC MSR PAE CX8 APIC MTRR PGE CMOV PAT PSE36 CLFLUSH on top of the model; no SEP. */
        out[3] |= (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) | (1u << 12) |
                  (1u << 13) | (1u << 15) | (1u << 16) | (1u << 17) | (1u << 19);
        out[3] &= ~(1u << 11);
        /* ECX: no MONITOR, FMA, x2APIC, TSC-deadline, XSAVE, OSXSAVE, AVX, F16C, hypervisor. */
        out[2] &= ~((1u << 3) | (1u << 12) | (1u << 21) | (1u << 24) | (1u << 26) | (1u << 27) | (1u << 28) |
                    (1u << 29) | (1u << 31));
        /* EBX: the initial APIC id, one logical processor per package, CLFLUSH line 64 bytes. */
        out[1] = (out[1] & 0x0000ffffu & ~0xff00u) | (8u << 8) | (env->sys->apic_id << 24) | (1u << 16);
        break;
    case 7:
        if (sub == 0) {
            out[1] &= ~(1u << 5);   /* no AVX2 without the AVX state */
        }
        break;
    case 0xd:
        out[0] = out[1] = out[2] = out[3] = 0;
        break;
    case 0x80000001:
        out[3] &= ~(1u << 26);      /* no 1 GiB pages */
        break;
    default:
        break;
    }
}

void helper_sys_cpuid(CPUX86State *env)
{
    uint32_t out[4];
    x86_sys_cpuid(env, (uint32_t)env->regs[R_EAX], (uint32_t)env->regs[R_ECX], out);
    env->regs[R_EAX] = out[0];
    env->regs[R_EBX] = out[1];
    env->regs[R_ECX] = out[2];
    env->regs[R_EDX] = out[3];
}
