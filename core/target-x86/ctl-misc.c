/*
 * Small user-mode instructions: RDTSC/RDTSCP/RDPID, LSL, RDRAND/RDSEED, the fences, the hints that do
 * nothing here (PAUSE, ENDBR, PREFETCH*, CLFLUSH*), XLAT, CLD/STD; and their helpers.
 */
#define _GNU_SOURCE   /* getcpu */
#include <cpuid.h>
#include <pthread.h>
#include <sched.h>
#include <sys/random.h>
#include <x86intrin.h>

#include "core/target-x86/cc.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/sys.h"
#include "core/target-x86/translate.h"

/* --- helpers -------------------------------------------------------------------------------------- */

uint64_t helper_rdtsc(CPUX86State *env)
{
    return __rdtsc() + env->tsc_offset;
}

uint64_t helper_tsc_aux(CPUX86State *env)
{
    if (env->sys) {
        return env->sys->tsc_aux;
    }
    unsigned cpu = 0, node = 0;
    if (getcpu(&cpu, &node) != 0) {
        cpu = node = 0;
    }
    return ((uint64_t)node << 12) | (cpu & 0xfff);
}

/*
 * LSL at CPL 3 under Linux: the user code and data segments (flat, limit 4 GB - 1) and the per-CPU segment
 * whose limit is (node << 12) | cpu (the vDSO's getcpu reads it this way on CPUs without RDPID). Other
 * selectors fail with ZF = 0 and the destination unchanged (bit 63 of the result: see the emitter).
 */
uint64_t helper_user_lsl(CPUX86State *env, uint32_t sel)
{
    uint64_t result = 1ull << 63;
    switch (sel & 0xfffc) {   /* the GDT's (TI = 0) descriptors of privilege 3: any RPL sees them */
    case 0x20: case 0x28: case 0x30:   /* USER32_CS, USER_DS, USER_CS */
        result = 0xffffffffu;
        break;
    case 0x78:                         /* GDT_ENTRY_CPUNODE */
        result = helper_tsc_aux(env) & 0xfffff;
        break;
    default:
        break;
    }
    x86_set_eflags(env, result >> 63 ? 0 : X86_ZF, X86_ZF);
    return result;
}

static bool ctl_host_rdrand;
static pthread_once_t ctl_rdrand_once = PTHREAD_ONCE_INIT;

static void ctl_rdrand_probe(void)
{
    unsigned a, b, c, d;
    ctl_host_rdrand = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 30));
}

/* RDRAND and RDSEED both get a fresh random value; the guest cannot tell the two sources apart. */
uint64_t helper_rdrand(CPUX86State *env)
{
    (void)env;
    pthread_once(&ctl_rdrand_once, ctl_rdrand_probe);
    if (ctl_host_rdrand) {
        for (int tries = 0; tries < 16; tries++) {
            uint64_t v;
            unsigned char ok;
            __asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
            if (ok) {
                return v;
            }
        }
    }
    uint64_t v = 0;
    while (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
        /* interrupted: try again */
    }
    return v;
}

void helper_fence(uint32_t kind)
{
    switch (kind) {
    case 0:
        __asm__ volatile("lfence" ::: "memory");
        break;
    case 1:
        __asm__ volatile("sfence" ::: "memory");
        break;
    default:
        __asm__ volatile("mfence" ::: "memory");
        break;
    }
}

/* --- emitters ------------------------------------------------------------------------------------- */

/* EDX:EAX = the 64-bit value v (each half zero-extends its register). */
static void ctl_set_edx_eax(DisasContext *dc, TCGTemp v)
{
    TCGContext *s = dc->s;
    tcg_gen_ext32u(s, TCG_I64, cpu_regs[R_EAX], v);
    tcg_gen_shr(s, TCG_I64, cpu_regs[R_EDX], v, tcg_const(s, 32));
}

void ctl_emit_rdtsc(DisasContext *dc)
{
    TCGTemp t = tcg_temp_new(dc->s);
    gen_helper(dc->s, rdtsc, t, TCG_TEMP_ENV);
    ctl_set_edx_eax(dc, t);
}

/* RDTSCP also returns IA32_TSC_AUX in ECX. */
void ctl_emit_rdtscp(DisasContext *dc)
{
    TCGTemp t = tcg_temp_new(dc->s), aux = tcg_temp_new(dc->s);
    gen_helper(dc->s, rdtsc, t, TCG_TEMP_ENV);
    gen_helper(dc->s, tsc_aux, aux, TCG_TEMP_ENV);
    ctl_set_edx_eax(dc, t);
    tcg_gen_ext32u(dc->s, TCG_I64, cpu_regs[R_ECX], aux);
}

/* RDPID r64: IA32_TSC_AUX. */
void ctl_emit_rdpid(DisasContext *dc)
{
    TCGTemp aux = tcg_temp_new(dc->s);
    gen_helper(dc->s, tsc_aux, aux, TCG_TEMP_ENV);
    gen_store_op(dc, 0, aux);
}

/* LSL r, r/m16 (user mode; system mode has its own): the limit when ZF is set, else r untouched (a 32-bit
   one is not even zero-extended). */
void ctl_emit_lsl(DisasContext *dc)
{
    TCGTemp r = tcg_temp_new(dc->s);
    gen_helper(dc->s, user_lsl, r, TCG_TEMP_ENV, gen_load_op(dc, 1));
    dc->cc_op = CC_OP_DYNAMIC;
    gen_store_op_unless_negative(dc, 0, r);
}

/* RDRAND/RDSEED r16/32/64: a value, CF = 1 (success), OF SF ZF AF PF = 0. */
void ctl_emit_rdrand(DisasContext *dc)
{
    TCGTemp t = tcg_temp_new(dc->s);
    gen_helper(dc->s, rdrand, t, TCG_TEMP_ENV);
    gen_store_op(dc, 0, t);
    gen_set_eflags_arith(dc, tcg_const(dc->s, X86_CF));
}

void ctl_emit_lfence(DisasContext *dc) { gen_helper(dc->s, fence, -1, tcg_const(dc->s, 0)); }
void ctl_emit_sfence(DisasContext *dc) { gen_helper(dc->s, fence, -1, tcg_const(dc->s, 1)); }
void ctl_emit_mfence(DisasContext *dc) { gen_helper(dc->s, fence, -1, tcg_const(dc->s, 2)); }

/*
 * Hints with no architectural effect here: PAUSE, ENDBR32/64 (no CET), the prefetches (which never
 * fault), and CLFLUSH/CLFLUSHOPT (guest memory is ordinary host memory; a flush of an unmapped address
 * would fault on hardware, which we do not reproduce).
 */
void ctl_emit_hint(DisasContext *dc)
{
    (void)dc;
}

/* CLFLUSH/CLFLUSHOPT: nothing to flush in a model without caches, but an unmapped line faults (#PF) as on
   the hardware: read one byte of it. */
void ctl_emit_clflush(DisasContext *dc)
{
    gen_ld(dc, gen_lea(dc, 0), 8, false);
}

/* XLAT: AL = [seg:RBX + AL], the sum wrapped to the address size. */
void ctl_emit_xlat(DisasContext *dc)
{
    TCGContext *s = dc->s;
    TCGTemp a = tcg_temp_new(s);
    tcg_gen_ext8u(s, TCG_I64, a, cpu_regs[R_EAX]);
    tcg_gen_add(s, TCG_I64, a, a, cpu_regs[R_EBX]);
    if (dc->insn.zi.address_width == 32) {
        tcg_gen_ext32u(s, TCG_I64, a, a);
    }
    ZydisRegister seg = ZYDIS_REGISTER_DS;
    for (int i = 0; i < dc->insn.zi.operand_count; i++) {
        if (dc->insn.op[i].type == ZYDIS_OPERAND_TYPE_MEMORY) {
            seg = dc->insn.op[i].mem.segment;
        }
    }
    if (seg == ZYDIS_REGISTER_FS || seg == ZYDIS_REGISTER_GS) {
        TCGTemp base = tcg_temp_new(s);
        tcg_gen_ld(s, TCG_I64, MO_64, base, TCG_TEMP_ENV,
                   seg == ZYDIS_REGISTER_FS ? ENV_OFF(seg_base[R_FS]) : ENV_OFF(seg_base[R_GS]));
        tcg_gen_add(s, TCG_I64, a, a, base);
    }
    gen_store_reg(dc, ZYDIS_REGISTER_AL, gen_ld(dc, a, 8, false));
}

/* CLD/STD: DF in env->eflags and its mirror env->df (the string step). */
static void ctl_set_df(DisasContext *dc, bool set)
{
    TCGContext *s = dc->s;
    TCGTemp ef = tcg_temp_new(s);
    tcg_gen_ld(s, TCG_I64, MO_64, ef, TCG_TEMP_ENV, ENV_OFF(eflags));
    if (set) {
        tcg_gen_or(s, TCG_I64, ef, ef, tcg_const(s, X86_DF));
    } else {
        tcg_gen_and(s, TCG_I64, ef, ef, tcg_const(s, ~(uint64_t)X86_DF));
    }
    tcg_gen_st(s, MO_64, ef, TCG_TEMP_ENV, ENV_OFF(eflags));
    tcg_gen_st(s, MO_64, tcg_const(s, set ? (uint64_t)-1 : 1), TCG_TEMP_ENV, ENV_OFF(df));
}

void ctl_emit_cld(DisasContext *dc) { ctl_set_df(dc, false); }
void ctl_emit_std(DisasContext *dc) { ctl_set_df(dc, true); }
