/*
 * Running host stubs: the helper the IR calls for every host-executed instruction.
 *
 * Faults. An SSE/AVX stub's access may fault inside the stub, with the guest's MXCSR loaded: nothing of
 * the guest state has been written back yet (the stub stores its registers after the instruction), and
 * the kernel gives the signal handler a fresh FPU state (MXCSR 0x1f80, an empty x87 stack), which is what
 * the emulator runs with after the handler leaves through tcg_cpu_loop_exit; a handler that returns
 * (a write to a page holding translated code, made writable) resumes the stub with its state restored.
 * So the access is not probed first — the fault address is then the hardware's, as natively. x87 stubs
 * (their FXRSTOR/FXSAVE of the x87 image) and masked accesses (MASKMOVDQU, VMASKMOV*, VPMASKMOV*: only
 * the enabled elements may fault) still touch the operand from C first (first and last byte; a locked
 * no-op write for stores).
 *
 * Floating-point exceptions. The host must never take #MF/#XM (it would be a SIGFPE in the emulator), so
 * a guest that unmasks exceptions runs its instructions with every exception masked on the host, and we
 * compare the status flags afterwards:
 *  - SSE/AVX: the stub runs with MXCSR's flags cleared; if it raised an exception the guest unmasks, the
 *    XMM/YMM and GPR state is put back, MXCSR gets the raised flags, and #XM is raised at the instruction.
 *  - x87: a waiting instruction with an unmasked exception already pending raises #MF first. Otherwise
 *    it runs masked; an unmasked exception it raises puts back the old registers and leaves the exception
 *    pending (flags, ES and B set), to be delivered as #MF by the next waiting instruction — as on real
 *    hardware. FNSTCW/FNSTSW/FNSTENV/FNSAVE images are patched to show the guest's real FCW and ES.
 * A memory destination the masked run wrote is put back too (FST m, VCVTPS2PH m). FCOMI sets its flags
 * even then, as the hardware does. Known gap: an unmasked x87 overflow/underflow with a register
 * destination keeps the old register, where the hardware stores the result with a scaled exponent.
 */
#include <string.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/hostexec.h"
#include "core/target-x86/sys.h"

#define X87_EXC_MASK 0x3f
#define X87_SF 0x40
#define X87_PE 0x20
#define X87_C1 0x0200
#define X87_PRE_COMPUTATION 0x07   /* IE, DE, ZE */
#define X87_ES_B 0x8080
#define MXCSR_MASKS 0x1f80
#define MXCSR_FLAGS 0x3f
#define MXCSR_PRE_COMPUTATION 0x07   /* IE, DE, ZE */
#define MXCSR_OE 0x08
#define MXCSR_UE 0x10
#define MXCSR_PE 0x20
#define MXCSR_UM 0x0800
#define MXCSR_FTZ 0x8000
/* Memory destinations up to this size are put back when an unmasked exception suppresses the write. */
#define HOSTEXEC_SAVED_MEM 32

/*
 * The error code we report with #MF/#XM: the si_code Linux gives the SIGFPE, from the unmasked exception
 * flags that are set (invalid first, then divide, overflow, underflow or denormal, inexact). The hardware
 * pushes no error code for these vectors; the user-mode front end passes this one on.
 */
static int fpe_si_code(uint32_t unmasked_flags)
{
    if (unmasked_flags & 0x01) {
        return 7;   /* FPE_FLTINV */
    }
    if (unmasked_flags & 0x04) {
        return 3;   /* FPE_FLTDIV */
    }
    if (unmasked_flags & 0x08) {
        return 4;   /* FPE_FLTOVF */
    }
    if (unmasked_flags & 0x12) {
        return 5;   /* FPE_FLTUND */
    }
    if (unmasked_flags & 0x20) {
        return 6;   /* FPE_FLTRES */
    }
    return 0;
}

static void probe_range(const HostStub *st, uint8_t *first, size_t bytes)
{
    uint8_t *last = first + bytes - 1;
    if (st->flags & HOSTEXEC_MEM_WRITE) {
        __asm__ volatile("lock orb $0, %0" : "+m"(*first));
        __asm__ volatile("lock orb $0, %0" : "+m"(*last));
    } else {
        __asm__ volatile("" : : "r"(*(volatile uint8_t *)first), "r"(*(volatile uint8_t *)last));
    }
}

static void probe_memory(const CPUX86State *env, const HostStub *st, void *mem)
{
    if (st->mem_bytes == 0) {
        return;
    }
    if (st->mask_reg >= 0) {
        /* Only the enabled elements: their mask element's top bit is set. */
        const X86YMMReg *m = &env->ymm[st->mask_reg];
        /* Intel's masked stores check the first byte of the lowest enabled element, then the last byte of
           the highest, and report the first of the two that faults (measured: an enabled element wholly
           past a page end is reported at its last byte when a lower one was writable). */
        bool intel_store = (st->flags & HOSTEXEC_MEM_WRITE) && x86_vendor_intel();
        uint32_t lo = st->mem_bytes, end = 0;
        for (uint32_t off = 0; off < st->mem_bytes; off += st->mask_elem) {
            if (m->b[off + st->mask_elem - 1] & 0x80) {
                if (!intel_store) {
                    probe_range(st, (uint8_t *)mem + off, st->mask_elem);
                }
                lo = off < lo ? off : lo;
                end = off + st->mask_elem;
            }
        }
        if (intel_store && end) {
            probe_range(st, (uint8_t *)mem + lo, end - lo);
        }
        return;
    }
    if (!(st->flags & HOSTEXEC_NO_PROBE)) {
        probe_range(st, mem, st->mem_bytes);
    }
}

/*
 * The x87 instruction and data pointers (FIP, FDP, FOP) are kept in C: hosts differ in what FXSAVE64
 * records (AMD only saves them with an exception pending), and the host's would be stub addresses anyway.
 * Non-control x87 instructions set FIP/FOP to their own pc and opcode, and FDP to their memory operand.
 *
 * Intel (host-verified on a Sapphire Rapids Xeon) differs: FIP is set as above, but FOP only by an
 * instruction that raises an unmasked exception (FOP compatibility mode off, the default since the
 * Pentium 4; no CPUID bit says so), and with FDP_EXCPTN_ONLY FDP likewise only by such an instruction with
 * a memory operand (one without keeps the old FDP). An unmasked precision exception counts, though it does
 * not suppress the result. With ZERO_FCS_FDS the images' FCS and FDS are zero. Both bits are advertised
 * exactly when ember behaves so (cpuid.c).
 */
typedef struct X87Pointers {
    uint64_t fip, fdp;
    uint16_t fop;
} X87Pointers;

static bool x87_keeps_pointers(const HostStub *st)
{
    ZydisMnemonic m = st->mnemonic;
    return (st->flags & HOSTEXEC_X87_CONTROL) || m == ZYDIS_MNEMONIC_FLDCW || m == ZYDIS_MNEMONIC_FWAIT;
}

static bool x87_env_16bit(const HostStub *st)
{
    return st->mem_bytes == 14 || st->mem_bytes == 94;
}

/* `unmasked`: the instruction raised an exception its FCW leaves unmasked. */
static void x87_update_pointers(CPUX86State *env, const HostStub *st, const uint8_t *mem, uint64_t pc_info,
                                const X87Pointers *old, bool unmasked)
{
    ZydisMnemonic m = st->mnemonic;
    env->fx.fip = old->fip;
    env->fx.fdp = old->fdp;
    env->fx.fop = old->fop;
    if (!(pc_info & HOSTEXEC_PC_HAS_FOP)) {
        return;   /* MMX: not an x87 instruction */
    }
    if (m == ZYDIS_MNEMONIC_FNINIT || m == ZYDIS_MNEMONIC_FNSAVE) {
        env->fx.fip = env->fx.fdp = 0;
        env->fx.fop = 0;
    } else if (m == ZYDIS_MNEMONIC_FLDENV || m == ZYDIS_MNEMONIC_FRSTOR) {
        uint32_t fip = 0, fdp = 0, cs_fop = 0;
        if (x87_env_16bit(st)) {
            memcpy(&fip, mem + 6, 2);
            memcpy(&fdp, mem + 10, 2);
        } else {
            memcpy(&fip, mem + 12, 4);
            memcpy(&cs_fop, mem + 16, 4);
            memcpy(&fdp, mem + 20, 4);
        }
        env->fx.fip = fip;
        env->fx.fdp = fdp;
        env->fx.fop = (uint16_t)((cs_fop >> 16) & 0x7ff);
    } else if (!x87_keeps_pointers(st)) {
        env->fx.fip = pc_info & HOSTEXEC_PC_MASK;
        if (unmasked || !x86_vendor_intel()) {
            env->fx.fop = (uint16_t)((pc_info >> HOSTEXEC_PC_FOP_SHIFT) & 0x7ff);
        }
        if (st->mem_operand >= 0 && (unmasked || !x86_model_has_feature(env->model, X86_FEAT_FDP_EXCPTN_ONLY))) {
            env->fx.fdp = (uint64_t)(uintptr_t)mem;
        }
    }
}

/* FNSTENV/FNSAVE stored the host's pointers: put the guest's (as they were before the instruction). */
static void x87_patch_env_image(CPUX86State *env, const HostStub *st, uint8_t *mem, const X87Pointers *old)
{
    if (st->mnemonic != ZYDIS_MNEMONIC_FNSTENV && st->mnemonic != ZYDIS_MNEMONIC_FNSAVE) {
        return;
    }
    if (x87_env_16bit(st)) {
        uint16_t fip = (uint16_t)old->fip, fdp = (uint16_t)old->fdp;
        memcpy(mem + 6, &fip, 2);
        memcpy(mem + 10, &fdp, 2);
        return;
    }
    uint32_t fip = (uint32_t)old->fip, fdp = (uint32_t)old->fdp;
    /* FCS is recorded with FIP: zero until an x87 instruction has run since FNINIT (always, when the
       model says FCS is deprecated). */
    uint32_t cs = (old->fip != 0 || old->fop != 0) ? env->seg_sel[R_CS] : 0;
    if (x86_model_has_feature(env->model, X86_FEAT_ZERO_FCS_FDS)) {
        cs = 0;
    }
    uint32_t cs_fop = cs | ((uint32_t)old->fop << 16);
    memcpy(mem + 12, &fip, 4);
    memcpy(mem + 16, &cs_fop, 4);
    memcpy(mem + 20, &fdp, 4);
}

/* Instructions after which FCW is what they loaded or set, not the guest's old one. */
static bool x87_sets_fcw(ZydisMnemonic m)
{
    return m == ZYDIS_MNEMONIC_FLDCW || m == ZYDIS_MNEMONIC_FLDENV || m == ZYDIS_MNEMONIC_FRSTOR ||
           m == ZYDIS_MNEMONIC_FNINIT || m == ZYDIS_MNEMONIC_FNSAVE || m == ZYDIS_MNEMONIC_FNSTENV;
}

/* Stored images of FCW/FSW made while the host ran masked: put the guest's FCW and ES/B in them. */
static void x87_patch_stores(CPUX86State *env, const HostStub *st, uint8_t *mem, uint16_t fcw, uint16_t fsw)
{
    uint16_t es = fsw & X87_ES_B;
    uint16_t v;
    switch (st->mnemonic) {
    case ZYDIS_MNEMONIC_FNSTCW:
        memcpy(mem, &fcw, 2);
        break;
    case ZYDIS_MNEMONIC_FNSTSW:
        if (st->mem_bytes) {
            memcpy(&v, mem, 2);
            v |= es;
            memcpy(mem, &v, 2);
        } else {
            env->regs[R_EAX] |= es;
        }
        break;
    case ZYDIS_MNEMONIC_FNSTENV:
    case ZYDIS_MNEMONIC_FNSAVE: {
        /* The 16-bit formats (14 and 94 bytes) keep FSW at offset 2, the 32-bit ones at 4. */
        size_t fsw_off = (st->mem_bytes == 14 || st->mem_bytes == 94) ? 2 : 4;
        memcpy(mem, &fcw, 2);
        memcpy(&v, mem + fsw_off, 2);
        v |= es;
        memcpy(mem + fsw_off, &v, 2);
        break;
    }
    default:
        break;
    }
}

/* Out of line: its x87 image and pointers would otherwise enlarge the frame of every SSE call. */
static __attribute__((noinline)) uint64_t run_x87(CPUX86State *env, const HostStub *st, void *mem, uint64_t flags_in,
                                                  uint64_t pc_info)
{
    uint16_t fcw = env->fx.fcw, fsw = env->fx.fsw;
    const X87Pointers old = {env->fx.fip, env->fx.fdp, env->fx.fop};

    if ((fcw & X87_EXC_MASK) == X87_EXC_MASK && !(fsw & X87_ES_B)) {
        uint64_t r = st->code(env, mem, flags_in);
        x87_update_pointers(env, st, mem, pc_info, &old, false);
        x87_patch_env_image(env, st, mem, &old);
        return r;
    }

    /* Guarded run: everything masked on the host, no pending exception visible to it. */
    X86FxArea saved = env->fx;
    bool arith = (st->flags & HOSTEXEC_X87_ARITH) != 0;
    uint8_t old_mem[HOSTEXEC_SAVED_MEM];
    bool keep_mem = arith && (st->flags & HOSTEXEC_MEM_WRITE) && st->mem_bytes <= sizeof(old_mem);
    if (keep_mem) {
        memcpy(old_mem, mem, st->mem_bytes);
    }
    env->fx.fcw |= X87_EXC_MASK;
    env->fx.fsw &= ~X87_ES_B;
    if (arith) {
        env->fx.fsw &= ~(X87_EXC_MASK | X87_SF);
    }
    uint64_t r = st->code(env, mem, flags_in);
    uint16_t raised = arith ? env->fx.fsw & (X87_EXC_MASK | X87_SF) : 0;
    x87_update_pointers(env, st, mem, pc_info, &old, (raised & ~fcw & X87_EXC_MASK) != 0);
    x87_patch_env_image(env, st, mem, &old);

    uint16_t run_fsw = env->fx.fsw;
    /* An unmasked precision exception alone does not suppress the result: it completes normally below
       (result stored, PE and C1 set) and ES makes the next waiting instruction deliver #MF. */
    if (raised & ~fcw & X87_EXC_MASK & ~X87_PE) {
        /* Only the exceptions the hardware detects before suppressing the result: invalid, denormal and
           divide-by-zero come before any rounding; an overflow or underflow stops before precision. */
        if (raised & ~fcw & X87_PRE_COMPUTATION) {
            raised &= X87_PRE_COMPUTATION | X87_SF;
        } else {
            raised &= ~X87_PE;
        }
        /* Unmasked: the destination keeps its old value and the exception waits for the next FP insn. */
        uint64_t fip = env->fx.fip, fdp = env->fx.fdp;
        uint16_t fop = env->fx.fop;
        env->fx = saved;
        env->fx.fsw = fsw | raised | X87_ES_B;
        if (raised & X87_SF) {
            /* A stack fault still sets C1: 1 for overflow, 0 for underflow. */
            env->fx.fsw = (uint16_t)((env->fx.fsw & ~X87_C1) | (run_fsw & X87_C1));
        }
        env->fx.fip = fip;   /* the pointers name the instruction that raised it */
        env->fx.fdp = fdp;
        env->fx.fop = fop;
        if (keep_mem) {
            memcpy(mem, old_mem, st->mem_bytes);
        }
        return r;
    }
    if (arith) {
        env->fx.fsw |= fsw & (X87_EXC_MASK | X87_SF);
    }
    if (!x87_sets_fcw(st->mnemonic)) {
        env->fx.fcw = fcw;
    }
    x87_patch_stores(env, st, mem, fcw, fsw);
    /* ES and B follow the flags and masks now in force. */
    env->fx.fsw &= ~X87_ES_B;
    if (env->fx.fsw & ~env->fx.fcw & X87_EXC_MASK) {
        env->fx.fsw |= X87_ES_B;
    }
    return r;
}

static uint64_t run_any(CPUX86State *env, const HostStub *st, void *mem, uint64_t flags_in, uint64_t pc_info)
{
    if (st->flags & HOSTEXEC_X87) {
        return run_x87(env, st, mem, flags_in, pc_info);
    }
    return st->code(env, mem, flags_in);
}

/*
 * With underflow unmasked, a tiny result raises #XM even when it is exact, but a masked run only flags
 * tiny results that are also inexact. Flush-to-zero flags every tiny result: run the instruction again
 * with FTZ from the same inputs and return MXCSR_UE if it saw one. The first run's results are kept.
 */
static uint32_t simd_exact_tiny(CPUX86State *env, const HostStub *st, void *mem, uint64_t flags_in,
                                uint64_t pc_info, const X86YMMReg *in_ymm, const uint64_t *in_regs,
                                const uint8_t *in_mem)
{
    if (st->flags & HOSTEXEC_X87) {
        return 0;   /* x87/MMX state would need saving too; MMX has no floating point */
    }
    X86YMMReg out_ymm[16];
    uint64_t out_regs[16];
    uint8_t out_mem[HOSTEXEC_SAVED_MEM];
    uint32_t out_mxcsr = env->fx.mxcsr;
    memcpy(out_ymm, env->ymm, sizeof(out_ymm));
    memcpy(out_regs, env->regs, sizeof(out_regs));
    if (in_mem) {
        memcpy(out_mem, mem, st->mem_bytes);
        memcpy(mem, in_mem, st->mem_bytes);
    }
    memcpy(env->ymm, in_ymm, sizeof(out_ymm));
    memcpy(env->regs, in_regs, sizeof(out_regs));
    env->fx.mxcsr = (out_mxcsr | MXCSR_MASKS | MXCSR_FTZ) & ~(uint32_t)MXCSR_FLAGS;
    run_any(env, st, mem, flags_in, pc_info);
    uint32_t tiny = env->fx.mxcsr & MXCSR_UE;
    memcpy(env->ymm, out_ymm, sizeof(out_ymm));
    memcpy(env->regs, out_regs, sizeof(out_regs));
    if (in_mem) {
        memcpy(mem, out_mem, st->mem_bytes);
    }
    env->fx.mxcsr = out_mxcsr;
    return tiny;
}

/* The guest unmasks SIMD exceptions: out of line, so that the common path keeps a small stack frame. */
static __attribute__((noinline)) uint64_t run_unmasked(CPUX86State *env, const HostStub *st, void *mem,
                                                       uint64_t flags_in, uint64_t pc_info, uint32_t mxcsr)
{
    /* Run masked with clean flags, then see what was raised. */
    X86YMMReg ymm[16];
    uint64_t regs[16];
    uint8_t old_mem[HOSTEXEC_SAVED_MEM];
    bool keep_mem = (st->flags & HOSTEXEC_MEM_WRITE) && st->mem_bytes <= sizeof(old_mem);
    memcpy(ymm, env->ymm, sizeof(ymm));
    memcpy(regs, env->regs, sizeof(regs));
    if (keep_mem) {
        memcpy(old_mem, mem, st->mem_bytes);
    }
    env->fx.mxcsr = (mxcsr | MXCSR_MASKS) & ~(uint32_t)MXCSR_FLAGS;
    uint8_t old_st[8][16];   /* an MMX destination (CVTPD2PI...) lives in the x87 registers */
    memcpy(old_st, env->fx.st, sizeof(old_st));
    uint16_t old_fsw = env->fx.fsw;
    uint64_t r = run_any(env, st, mem, flags_in, pc_info);
    uint32_t raised = env->fx.mxcsr & MXCSR_FLAGS;
    if (!(mxcsr & MXCSR_UM) && !(raised & (MXCSR_UE | MXCSR_PRE_COMPUTATION))) {
        raised |= simd_exact_tiny(env, st, mem, flags_in, pc_info, ymm, regs, keep_mem ? old_mem : NULL);
    }
    uint32_t unmasked = raised & ~(mxcsr >> 7) & MXCSR_FLAGS;
    if (unmasked & MXCSR_PRE_COMPUTATION) {
        /* An unmasked invalid, denormal or divide-by-zero stops the instruction before it computes: only
           those flags are set (for every element), never overflow, underflow or precision. */
        raised &= MXCSR_PRE_COMPUTATION;
    } else if (unmasked & (MXCSR_OE | MXCSR_UE)) {
        /* An unmasked overflow or underflow reports itself, not the precision loss that comes with it. */
        raised &= ~(uint32_t)MXCSR_PE;
    }
    env->fx.mxcsr = mxcsr | raised;
    if (unmasked) {
        memcpy(env->ymm, ymm, sizeof(ymm));
        memcpy(env->regs, regs, sizeof(regs));
        /* The registers keep their values, but the MMX transition (TOP = 0, all valid) has happened: the
           image is in ST(i) order, so each value moves by the change of TOP. */
        unsigned moved = ((old_fsw >> 11) - (env->fx.fsw >> 11)) & 7;
        for (unsigned i = 0; i < 8; i++) {
            memcpy(env->fx.st[(i + moved) & 7], old_st[i], sizeof(old_st[i]));
        }
        if (keep_mem) {
            memcpy(mem, old_mem, st->mem_bytes);
        }
        x86_raise_exception(env, EXCP_XM, fpe_si_code(env->fx.mxcsr & ~(env->fx.mxcsr >> 7) & MXCSR_FLAGS), 0);
    }
    return r;
}

uint64_t hostexec_run(CPUX86State *env, const HostStub *st, void *mem, uint64_t flags_in, uint64_t pc_info)
{
    if ((st->flags & HOSTEXEC_ALIGNED) && ((uintptr_t)mem & (st->mem_bytes - 1))) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    if ((st->flags & HOSTEXEC_X87) || st->mask_reg >= 0) {
        probe_memory(env, st, mem);
    }
    /* A waiting x87 (or MMX) instruction delivers a pending unmasked x87 exception before it runs. */
    if ((st->flags & HOSTEXEC_X87) && !(st->flags & HOSTEXEC_X87_CONTROL) &&
        (env->fx.fsw & ~env->fx.fcw & X87_EXC_MASK)) {
        x86_raise_exception(env, EXCP_MF, fpe_si_code(env->fx.fsw & ~env->fx.fcw & X87_EXC_MASK), 0);
    }
    uint32_t mxcsr = env->fx.mxcsr;
    if ((mxcsr & MXCSR_MASKS) == MXCSR_MASKS) {
        return run_any(env, st, mem, flags_in, pc_info);
    }
    return run_unmasked(env, st, mem, flags_in, pc_info, mxcsr);
}

/* System mode: the memory operand is a guest-virtual address, mapped (or bounced) by sys-mmu.c. */
typedef struct HostexecSysCall {
    const HostStub *st;
    uint64_t flags_in, pc_info;
} HostexecSysCall;

static uint64_t hostexec_sys_run(CPUX86State *env, void *mem, void *opaque)
{
    const HostexecSysCall *c = opaque;
    return hostexec_run(env, c->st, mem, c->flags_in, c->pc_info);
}

uint64_t helper_hostexec_call(CPUX86State *env, void *stub, void *mem, uint64_t flags_in, uint64_t pc_info)
{
    const HostStub *st = stub;
    if (env->sys && st->mem_bytes) {
        HostexecSysCall c = {st, flags_in, pc_info};
        return x86_sys_with_mem(env, (uint64_t)(uintptr_t)mem, st->mem_bytes, (st->flags & HOSTEXEC_MEM_READ) != 0,
                                (st->flags & HOSTEXEC_MEM_WRITE) != 0, hostexec_sys_run, &c);
    }
    return hostexec_run(env, st, mem, flags_in, pc_info);
}
