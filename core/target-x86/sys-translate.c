/*
 * System-mode block translation (see sys-translate.h).
 *
 * Block keys: pc is the guest-physical address of the first byte (so a block is found again whatever
 * page tables are live, and self-modifying-code tracking works on physical pages); the flags carry the
 * mode bits and a hash of the linear page and the CS base, because the block's constants (return
 * addresses, branch targets) are EIP values that depend on both. When the code page is not mapped the
 * key is (1 << 63 | linear): it never finds a block, and translating it raises the #PF.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/target-x86/cc.h"
#include "core/target-x86/sys-translate.h"
#include "core/target-x86/sys.h"

#define SYS_MAX_INSNS_PER_TB 128
#define SYS_TB_OP_BUDGET (TCG_MAX_OPS - 512)
#define SYS_TB_TEMP_BUDGET (TCG_MAX_TEMPS - 256)
#define SYS_UNMAPPED_KEY (1ull << 63)

/* Decoders by mode: 16-bit, 32-bit (each with a 16 or 32-bit stack), compatibility mode, 64-bit. */
enum { DEC_16_16, DEC_16_32, DEC_32_16, DEC_32_32, DEC_C16, DEC_C32, DEC_64, DEC_COUNT };
static ZydisDecoder sys_decoders[DEC_COUNT];
static pthread_once_t sys_decoder_once = PTHREAD_ONCE_INIT;

static void sys_decoders_init(void)
{
    ZydisDecoderInit(&sys_decoders[DEC_16_16], ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
    ZydisDecoderInit(&sys_decoders[DEC_16_32], ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_32);
    ZydisDecoderInit(&sys_decoders[DEC_32_16], ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_16);
    ZydisDecoderInit(&sys_decoders[DEC_32_32], ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    ZydisDecoderInit(&sys_decoders[DEC_C16], ZYDIS_MACHINE_MODE_LONG_COMPAT_16, ZYDIS_STACK_WIDTH_32);
    ZydisDecoderInit(&sys_decoders[DEC_C32], ZYDIS_MACHINE_MODE_LONG_COMPAT_32, ZYDIS_STACK_WIDTH_32);
    ZydisDecoderInit(&sys_decoders[DEC_64], ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

static int sys_decoder_index(uint32_t flags)
{
    bool ss16 = flags & X86_TBFLAG_SS16;
    if (flags & X86_TBFLAG_LMA) {
        if (flags & X86_TBFLAG_CODE16) {
            return DEC_C16;
        }
        return (flags & X86_TBFLAG_CODE32) ? DEC_C32 : DEC_64;
    }
    if (flags & X86_TBFLAG_CODE16) {
        return ss16 ? DEC_16_16 : DEC_16_32;
    }
    return ss16 ? DEC_32_16 : DEC_32_32;
}

ZydisMachineMode x86_sys_machine_mode(uint32_t flags)
{
    static const ZydisMachineMode modes[DEC_COUNT] = {
        ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_MACHINE_MODE_LEGACY_32,
        ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_MACHINE_MODE_LONG_COMPAT_16, ZYDIS_MACHINE_MODE_LONG_COMPAT_32,
        ZYDIS_MACHINE_MODE_LONG_64,
    };
    return modes[sys_decoder_index(flags)];
}

static uint64_t sys_linear(const CPUX86State *env, uint64_t a)
{
    return (env->cs_flags & X86_TBFLAG_LMA) ? a : (a & 0xffffffffu);
}

static uint32_t sys_key_hash(uint64_t linear, uint64_t cs_base)
{
    uint64_t h = (linear >> 12) ^ (linear >> 36) ^ ((cs_base >> 4) * 0x9e3779b1u);
    return (uint32_t)(h & 0xffffff);
}

void x86_sys_tb_key(TCGCPU *cpu, uint64_t *pc, uint32_t *flags)
{
    CPUX86State *env = x86_env(cpu);
    uint64_t cs_base = env->seg_base[R_CS];
    uint64_t lin = sys_linear(env, cs_base + cpu->pc);
    uint64_t pa = x86_sys_code_paddr(env, lin);
    *flags = (env->cs_flags & X86_TBFLAG_MODE_MASK) | (sys_key_hash(lin, cs_base) << 8);
    *pc = pa != ~0ull ? pa : (SYS_UNMAPPED_KEY | lin);
}

bool x86_sys_jmp_chainable(const DisasContext *dc, uint64_t eip)
{
    return (sys_linear(dc->env, dc->sys->cs_base + eip) & TB_PAGE_MASK) == dc->sys->page;
}

/*
 * Fetch and decode the instruction at eip. -1: decoded; >= 0: the exception to raise there; -2: its
 * bytes are not all reachable and it is not the block's first instruction (end the block before it,
 * so the fault is taken when it is really executed).
 */
static int sys_decode(DisasContext *dc, uint64_t eip, bool first)
{
    pthread_once(&sys_decoder_once, sys_decoders_init);
    X86SysDisas *sd = dc->sys;
    X86Insn *insn = &dc->insn;
    uint64_t lin = sys_linear(dc->env, sd->cs_base + eip);
    size_t to_page_end = TB_PAGE_SIZE - (lin & (TB_PAGE_SIZE - 1));
    size_t want = to_page_end < 15 ? to_page_end : 15;
    size_t got = x86_sys_fetch_code(dc->env, lin, sd->code, want, first);
    if (got < want) {
        return -2;
    }
    const ZydisDecoder *dec = &sys_decoders[sys_decoder_index(dc->tb->flags)];
    ZyanStatus st = ZydisDecoderDecodeFull(dec, sd->code, got, &insn->zi, insn->op);
    if (st == ZYDIS_STATUS_NO_MORE_DATA && got < 15) {
        if (!first) {
            /* An instruction crossing into the next page starts a block of its own: the block cache
               tracks a block's second page as the physically next one, which holds only for the
               first instruction's page pair, so keep such blocks to that one instruction's bytes. */
            return -2;
        }
        /* It continues on the next page: fetch that too (this may fault, at this instruction). */
        size_t more = x86_sys_fetch_code(dc->env, lin + got, sd->code + got, 15 - got, true);
        st = ZydisDecoderDecodeFull(dec, sd->code, got + more, &insn->zi, insn->op);
    }
    insn->bytes = sd->code;
    insn->pc = eip;
    insn->next_pc = eip + (ZYAN_SUCCESS(st) ? insn->zi.length : 0);
    if (!(dc->tb->flags & X86_TBFLAG_LMA) || (dc->tb->flags & (X86_TBFLAG_CODE16 | X86_TBFLAG_CODE32))) {
        insn->next_pc &= (dc->tb->flags & X86_TBFLAG_CODE16) ? 0xffffffffu : 0xffffffffu;
    }
    if (ZYAN_SUCCESS(st)) {
        return x86_decoded_knc(&insn->zi) ? EXCP_UD : -1;
    }
    return st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG ? EXCP_GP : EXCP_UD;
}

int x86_sys_translate_block(TCGCPU *cpu, TCGContext *s, TranslationBlock *tb)
{
    CPUX86State *env = x86_env(cpu);
    X86SysDisas sd = {.cs_base = env->seg_base[R_CS]};
    DisasContext dc = {.s = s, .env = env, .tb = tb, .cc_op = CC_OP_DYNAMIC, .cc_minuend = -1, .sys = &sd};
    uint64_t start = cpu->pc;
    uint64_t eip = start;
    sd.page = sys_linear(env, sd.cs_base + eip) & TB_PAGE_MASK;

    tb->icount = 0;
    for (;;) {
        /* A debugger breakpoint at this linear address: stop before the instruction (see cpu-exec.h). */
        if (tcg_debug_breakpoint && !(tb->icount == 0 && (tb->max_insns == 1 || (tb->pc & SYS_UNMAPPED_KEY))) &&
            tcg_debug_breakpoint(sys_linear(env, sd.cs_base + eip))) {
            dc.insn.next_pc = eip;
            gen_exit(&dc, TCG_EXIT_INTERRUPT);
            if (tb->icount == 0) {
                tb->icount = 1;
            }
            break;
        }
        tcg_gen_insn_start(s, eip);
        cpu->insn_pc = eip;
        int r = sys_decode(&dc, eip, tb->icount == 0);
        if (r == -2) {
            gen_jmp_const(&dc, eip, 0);
            break;
        }
        if (tb->icount == 0 && (tb->pc & SYS_UNMAPPED_KEY)) {
            /* The page was mapped after the key was taken: look the block up again. */
            tcg_cpu_loop_exit(cpu, TCG_EXIT_NONE);
        }
        if (r >= 0) {
            dc.insn.next_pc = eip + 1;
            gen_exception(&dc, r, 0);
        } else if (!x86_sys_translate_insn(&dc)) {
            const X86InsnDef *def = x86_insn_lookup(dc.insn.zi.mnemonic);
            if (!def || !x86_feature_implemented(def->feature)) {
                gen_exception(&dc, EXCP_UD, 0);
            } else {
                def->emit(&dc);
            }
        }
        tb->icount++;
        eip = dc.insn.next_pc;
        if (dc.end_block) {
            break;
        }
        if (sd.irq_window == 2) {
            /* The instruction after STI ran: interrupts may be taken now. */
            gen_exit(&dc, TCG_EXIT_INTERRUPT);
            break;
        }
        if (sd.irq_window == 1) {
            sd.irq_window = 2;
        }
        if (tb->icount >= SYS_MAX_INSNS_PER_TB || (tb->max_insns && tb->icount >= tb->max_insns) ||
            s->nb_ops > SYS_TB_OP_BUDGET || s->nb_temps > SYS_TB_TEMP_BUDGET ||
            (sys_linear(env, sd.cs_base + eip) & TB_PAGE_MASK) != sd.page) {
            gen_jmp_const(&dc, eip, 0);
            break;
        }
    }
    tb->size = (uint32_t)(eip - start);
    if (tb->size == 0) {
        tb->size = 1;
    }
    return s->overflow ? -E2BIG : 0;
}

void x86_sys_dump_code(TCGCPU *cpu, const TranslationBlock *tb, FILE *out)
{
    CPUX86State *env = x86_env(cpu);
    uint64_t eip = cpu->pc;
    uint64_t end = eip + tb->size;
    fprintf(out, "IN: (phys 0x%016llx)\n", (unsigned long long)tb->pc);
    while (eip < end) {
        uint8_t buf[15];
        size_t got = x86_sys_fetch_code(env, sys_linear(env, env->seg_base[R_CS] + eip), buf, sizeof(buf), false);
        ZydisDisassembledInstruction insn;
        if (!got || !ZYAN_SUCCESS(ZydisDisassembleIntel(x86_sys_machine_mode(tb->flags), eip, buf, got, &insn))) {
            fprintf(out, "0x%016llx:  (bad)\n", (unsigned long long)eip);
            break;
        }
        fprintf(out, "0x%016llx:  %s\n", (unsigned long long)eip, insn.text);
        eip += insn.info.length;
    }
    fprintf(out, "\n");
}
