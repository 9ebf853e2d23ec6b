/*
 * The block translator: decode guest instructions with Zydis, find each mnemonic's emitter in the table,
 * and end the block at a control transfer, a page boundary or a size limit.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/target-x86/cc.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/sys-translate.h"
#include "core/target-x86/translate.h"

/* Keep blocks short enough that the builder's arrays never fill. */
#define X86_MAX_INSNS_PER_TB 256
#define X86_TB_OP_BUDGET (TCG_MAX_OPS - 512)
#define X86_TB_TEMP_BUDGET (TCG_MAX_TEMPS - 256)
#define X86_MAX_INSN_LEN 15

TCGTemp cpu_regs[16];
TCGTemp cpu_cc_dst, cpu_cc_src, cpu_cc_src2, cpu_cc_op;
void (*x86_hook_block_start)(DisasContext *dc);
void (*x86_hook_cmp)(DisasContext *dc, unsigned bits, TCGTemp a, TCGTemp b);

static const char *const x86_reg_names[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

void x86_tcg_init_globals(TCGContext *s)
{
    for (int i = 0; i < 16; i++) {
        cpu_regs[i] = tcg_global(s, ENV_OFF(regs[i]), x86_reg_names[i]);
    }
    cpu_cc_dst = tcg_global(s, ENV_OFF(cc_dst), "cc_dst");
    cpu_cc_src = tcg_global(s, ENV_OFF(cc_src), "cc_src");
    cpu_cc_src2 = tcg_global(s, ENV_OFF(cc_src2), "cc_src2");
    cpu_cc_op = tcg_global(s, ENV_OFF(cc_op), "cc_op");
}

static ZydisDecoder x86_decoder64;
static pthread_once_t x86_decoder_once = PTHREAD_ONCE_INIT;

static void x86_decoder_init(void)
{
    ZydisDecoderInit(&x86_decoder64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

const ZydisDecoder *x86_decoder(void)
{
    pthread_once(&x86_decoder_once, x86_decoder_init);
    return &x86_decoder64;
}

ZyanStatus x86_decode_in_page(X86Insn *insn, uint64_t pc)
{
    size_t to_page_end = TB_PAGE_SIZE - (pc & (TB_PAGE_SIZE - 1));
    size_t len = to_page_end < X86_MAX_INSN_LEN ? to_page_end : X86_MAX_INSN_LEN;
    insn->bytes = (const void *)(uintptr_t)pc;
    insn->pc = pc;
    ZyanStatus st = ZydisDecoderDecodeFull(x86_decoder(), insn->bytes, len, &insn->zi, insn->op);
    insn->next_pc = pc + (ZYAN_SUCCESS(st) ? insn->zi.length : 0);
    return st;
}

/*
 * Decode at pc without reading past the end of its page unless the instruction really continues there:
 * the next page may be unmapped, and touching it for a short instruction would be a false fault.
 * Returns -1 when decoded, else the exception to raise: #GP for an instruction longer than 15 bytes
 * (15 bytes were there and did not end it), #UD for anything else Zydis rejects.
 */
static int x86_decode(X86Insn *insn, uint64_t pc)
{
    if (x86_flags_live_decoded(pc, insn)) {
        return -1;   /* the dead-flag scan decoded it (within its page, and it is no KNC encoding) */
    }
    ZyanStatus st = x86_decode_in_page(insn, pc);
    if (st == ZYDIS_STATUS_NO_MORE_DATA && (pc & (TB_PAGE_SIZE - 1)) > TB_PAGE_SIZE - X86_MAX_INSN_LEN) {
        st = ZydisDecoderDecodeFull(x86_decoder(), insn->bytes, X86_MAX_INSN_LEN, &insn->zi, insn->op);
        insn->next_pc = pc + (ZYAN_SUCCESS(st) ? insn->zi.length : 0);
    }
    if (ZYAN_SUCCESS(st)) {
        return x86_decoded_knc(&insn->zi) ? EXCP_UD : -1;
    }
    return st == ZYDIS_STATUS_NO_MORE_DATA || st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG ? EXCP_GP : EXCP_UD;
}

static void gen_store_pc(DisasContext *dc, TCGTemp pc)
{
    tcg_gen_st(dc->s, MO_64, pc, TCG_TEMP_ENV, (uint32_t)offsetof(TCGCPU, pc));
}

void gen_jmp_const(DisasContext *dc, uint64_t pc, int slot)
{
    gen_store_pc(dc, tcg_const(dc->s, pc));
    if (dc->sys && !x86_sys_jmp_chainable(dc, pc)) {
        tcg_gen_goto_ptr(dc->s);   /* another page: its mapping may change, so look the block up */
        dc->end_block = true;
        return;
    }
    tcg_gen_goto_tb(dc->s, slot);
    dc->end_block = true;
}

void gen_try_jmp_indirect(DisasContext *dc, TCGTemp pc)
{
    gen_store_pc(dc, pc);
    tcg_gen_try_goto_ptr(dc->s);
}

void gen_jmp_indirect(DisasContext *dc, TCGTemp pc)
{
    gen_store_pc(dc, pc);
    tcg_gen_goto_ptr(dc->s);
    dc->end_block = true;
}

void gen_exception(DisasContext *dc, int vector, int error_code)
{
    /* Traps (#BP from INT3, #OF from INTO) report the next instruction; faults report this one. */
    bool trap = vector == EXCP_BP || vector == EXCP_OF;
    gen_exception_at(dc, vector, error_code, trap ? dc->insn.next_pc : dc->insn.pc);
}

void gen_exception_at(DisasContext *dc, int vector, int error_code, uint64_t pc)
{
    gen_store_pc(dc, tcg_const(dc->s, pc));
    gen_helper(dc->s, raise_exception, -1, TCG_TEMP_ENV, tcg_const(dc->s, vector), tcg_const(dc->s, error_code));
    tcg_gen_exit_tb(dc->s, TCG_EXIT_EXCEPTION);   /* not reached; ends the block for the optimizer */
    dc->end_block = true;
}

/*
 * Side exits. Most blocks used to end at a conditional branch, four instructions in: each paid a block's
 * fixed costs (translation, the entry check, guest registers written back at the end and loaded again by
 * the next block). In user mode a block now goes on with the fall-through, and the branch's taken path
 * leaves through a goto_tb of its own after the block's last instruction, which the JIT reaches with the
 * write-backs out of line (jit-branch.c). The state is exact at the branch as at any block exit (the
 * dead-flag window never reaches past a branch). AFL instrumentation needs every edge to start a block,
 * and system mode's blocks follow its own page rules: both keep ending at the branch.
 */
bool x86_side_exit(DisasContext *dc, int label, uint64_t target)
{
    if (!dc->side_ok || dc->nside >= (int)(sizeof(dc->side) / sizeof(dc->side[0]))) {
        return false;
    }
    dc->side[dc->nside++] = (struct X86SideExit){label, dc->insn.pc, target};
    return true;
}

/*
 * Should a block that went on past a branch stop before pc? Yes where one of its side exits goes (an if
 * without an else: both ways in then chain to the one block at pc instead of translating its code twice)
 * and where a block starts already (blocks that used to end at the branch could never run into it): a
 * block this CPU has run lately, as its jump cache says (no lock, unlike the block cache; a miss costs only
 * a longer block). Not if the dead-flag window reaches past pc (x86_flags_live_ahead): the block then
 * simply goes on.
 */
static bool x86_side_exit_meets(const DisasContext *dc, uint64_t pc)
{
    if (dc->nside == 0 || x86_flags_live_ahead()) {
        return false;
    }
    for (int i = 0; i < dc->nside; i++) {
        if (dc->side[i].target == pc) {
            return true;
        }
    }
    return tcg_jmp_cache_get((const TCGCPU *)dc->env, pc, dc->tb->flags) != NULL;   /* x86_env, reversed */
}

/* After the block's last exit: each side exit's label, under its branch's pc (so the JIT sees the branch
   and its label in one instruction, see jit_label_paths), then its chainable jump in slots 2, 3, ... */
static void x86_side_exits_finish(DisasContext *dc)
{
    for (int i = 0; i < dc->nside; i++) {
        tcg_gen_insn_start(dc->s, dc->side[i].pc);
        tcg_gen_set_label(dc->s, dc->side[i].label);
        gen_jmp_const(dc, dc->side[i].target, 2 + i);
    }
}

void gen_exit(DisasContext *dc, TCGExitReason reason)
{
    gen_store_pc(dc, tcg_const(dc->s, dc->insn.next_pc));
    tcg_gen_exit_tb(dc->s, reason);
    dc->end_block = true;
}

/* Is the mnemonic's feature advertised by this CPU's model? */
static bool x86_insn_allowed(const DisasContext *dc, const X86InsnDef *def)
{
    return x86_feature_implemented(def->feature) && x86_model_has_feature(dc->env->model, def->feature);
}

/*
 * Whether a user-mode block may take in the instruction at pc (not its first). A block spans at most two
 * pages, the second one only if the guest may execute it (the front end's hook; without one, blocks end
 * at page boundaries): a fault reading an instruction is reported at that instruction, so the block must
 * not read code the guest could not reach by running the instructions before it. The same goes for an
 * instruction that would continue onto a page after those: the block ends before it.
 */
static bool x86_user_code_continues(const TranslationBlock *tb, uint64_t pc)
{
    uint64_t first = tb->pc & TB_PAGE_MASK, page = pc & TB_PAGE_MASK, next = page + TB_PAGE_SIZE;
    if (page != first && (page != first + TB_PAGE_SIZE || (tb->page[1] != ~0ULL && tb->page[1] != page))) {
        return false;
    }
    if (page != first && tb->page[1] == ~0ULL && !tb_page_executable(page)) {
        return false;
    }
    if ((pc & ~TB_PAGE_MASK) <= TB_PAGE_SIZE - X86_MAX_INSN_LEN) {
        return true;   /* an instruction starting here ends on this page */
    }
    /* Near the end of its page: fine if it ends there (decoded within the page), or if it may go on. */
    X86Insn insn;
    if (x86_decode_in_page(&insn, pc) != ZYDIS_STATUS_NO_MORE_DATA) {
        return true;
    }
    return page == first && tb_page_executable(next);
}

int x86_translate_block(TCGCPU *cpu, TCGContext *s, TranslationBlock *tb)
{
    if (x86_env(cpu)->sys) {
        return x86_sys_translate_block(cpu, s, tb);
    }
    DisasContext dc = {.s = s, .env = x86_env(cpu), .tb = tb, .cc_op = CC_OP_DYNAMIC, .cc_minuend = -1,
                       .side_ok = x86_hook_block_start == NULL};
    uint64_t pc = tb->pc;
    uint64_t first_page = pc & TB_PAGE_MASK;

    tb->icount = 0;
    tb->page[0] = first_page;
    tb->page[1] = ~0ULL;
    if (x86_hook_block_start) {
        x86_hook_block_start(&dc);
    }
    x86_flags_live_reset();
    if (tb_page_fetch_denied(first_page)) {
        /* Mapped without PROT_EXEC (or it lost it, and its blocks with it): the fetch faults as the host's
           would, SIGSEGV with SEGV_ACCERR at the code (error code: present, user, instruction fetch). */
        cpu->insn_pc = pc;
        x86_raise_exception(dc.env, EXCP_PF, 1 | 4 | 16, pc);
    }
    unsigned limit = tb->max_insns && tb->max_insns < X86_MAX_INSNS_PER_TB ? tb->max_insns : X86_MAX_INSNS_PER_TB;
    for (;;) {
        if (tcg_debug_breakpoint && !(tb->icount == 0 && tb->max_insns == 1) && tcg_debug_breakpoint(pc)) {
            /* A debugger breakpoint: stop before this instruction (see cpu-exec.h). A block of only this
               exit still counts one instruction, for the loop's sake. */
            gen_store_pc(&dc, tcg_const(s, pc));
            tcg_gen_exit_tb(s, TCG_EXIT_INTERRUPT);
            if (tb->icount == 0) {
                tb->icount = 1;
            }
            break;
        }
        if (tb->icount > 0 && !x86_user_code_continues(tb, pc)) {
            if (x86_flags_live_ahead()) {
                return -E2BIG;   /* flags were left dead for instructions that will not be in this block */
            }
            gen_jmp_const(&dc, pc, 0);
            break;
        }
        tcg_gen_insn_start(s, pc);
        /* A fault while reading the code is reported at this instruction. */
        cpu->insn_pc = pc;
        int decode_fault = x86_decode(&dc.insn, pc);
        dc.flags_dead = decode_fault < 0 && x86_flags_live_dead(&dc, pc, limit - tb->icount);
        if (decode_fault >= 0) {
            dc.insn.next_pc = pc + 1;
            gen_exception(&dc, decode_fault, 0);
        } else {
            const X86InsnDef *def = x86_insn_lookup(dc.insn.zi.mnemonic);
            if (!def || !x86_insn_allowed(&dc, def)) {
                gen_exception(&dc, EXCP_UD, 0);
            } else {
                def->emit(&dc);
            }
        }
        tb->icount++;
        uint64_t last_byte = dc.insn.next_pc - 1;
        if ((last_byte & TB_PAGE_MASK) != first_page) {
            tb->page[1] = last_byte & TB_PAGE_MASK;
        }
        pc = dc.insn.next_pc;
        if (dc.end_block) {
            break;
        }
        if (x86_side_exit_meets(&dc, pc)) {
            gen_jmp_const(&dc, pc, 0);
            break;
        }
        if (tb->icount >= limit) {
            gen_jmp_const(&dc, pc, 0);
            break;
        }
        if (s->nb_ops > X86_TB_OP_BUDGET || s->nb_temps > X86_TB_TEMP_BUDGET) {
            if (x86_flags_live_ahead()) {
                return -E2BIG;   /* flags were left dead for instructions that will not be in this block */
            }
            gen_jmp_const(&dc, pc, 0);
            break;
        }
    }
    x86_side_exits_finish(&dc);
    tb->size = (uint32_t)(pc - tb->pc);
    return s->overflow ? -E2BIG : 0;
}

static void x86_tb_key(TCGCPU *cpu, uint64_t *pc, uint32_t *flags)
{
    if (x86_env(cpu)->sys) {
        x86_sys_tb_key(cpu, pc, flags);
        return;
    }
    CPUX86State *env = x86_env(cpu);
    /* Kept in cs_flags too, written here only (TCGTargetOps.tb_flags_offset): the instructions that change
       MXCSR's control bits end their block with an exit to the loop, which asks for the key again. */
    uint32_t f = env->cs_flags & ~X86_TBFLAG_MXCSR_HOST;
    if ((env->fx.mxcsr & ~0x3fu) == 0x1f80) {
        f |= X86_TBFLAG_MXCSR_HOST;
    }
    env->cs_flags = f;
    *pc = cpu->pc;
    *flags = f;
}

static void x86_dump_code(TCGCPU *cpu, const TranslationBlock *tb, FILE *out)
{
    if (x86_env(cpu)->sys) {
        x86_sys_dump_code(cpu, tb, out);
        return;
    }
    ZydisDisassembledInstruction insn;
    uint64_t pc = tb->pc;
    fprintf(out, "IN:\n");
    while (pc < tb->pc + tb->size) {
        size_t left = tb->pc + tb->size - pc;
        if (!ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, pc, (const void *)(uintptr_t)pc, left,
                                                &insn))) {
            fprintf(out, "0x%016llx:  (bad)\n", (unsigned long long)pc);
            break;
        }
        fprintf(out, "0x%016llx:  %s\n", (unsigned long long)pc, insn.text);
        pc += insn.info.length;
    }
    fprintf(out, "\n");
}

/* Guest registers kept in host registers across blocks (jit.h), so that a block neither loads them on
   entry nor stores them on exit: the stack pointer (every call, return, push and pop), the lazy flags'
   operands (almost every block sets them, the next one's Jcc reads them), rax (return values) and rbx
   (callee-saved, so compilers keep what lives across calls there: perl's interpreter pointer).
   Measured against other choices with the bench/ workloads: perl 19%, xz and sort 15%, python 11%
   faster than with none; pinning rdi, rbp or cc_op instead of or besides rax gained less. rbx as the
   fifth: perl 6%, python 3%, xz and sort 3% faster; rdi or rbp there gained 2-4% on perl. rdi (the
   first argument) as the sixth: perl 2-3.5%, xz 3%, sort 2% faster, python, gzip, sha256 and nbody
   within noise (rbp there: perl 2.4%, sort 3%; r13: nothing); a seventh (rbp, rsi or cc_op, in r10)
   made gzip or sha256 3-7% slower. */
static const uint32_t x86_pinned[] = {
    offsetof(CPUX86State, regs[R_ESP]),
    offsetof(CPUX86State, regs[R_EAX]),
    offsetof(CPUX86State, cc_dst),
    offsetof(CPUX86State, cc_src),
    offsetof(CPUX86State, regs[R_EBX]),
    offsetof(CPUX86State, regs[R_EDI]),
};

const TCGTargetOps x86_target_ops = {
    .tb_key = x86_tb_key,
    .translate = x86_translate_block,
    .init_globals = x86_tcg_init_globals,
    .dump_state = x86_dump_state,
    .dump_code = x86_dump_code,
    .tb_flags_offset = offsetof(CPUX86State, cs_flags),   /* x86_tb_key: (pc, cs_flags) */
    .pinned = x86_pinned,
    .npinned = sizeof(x86_pinned) / sizeof(x86_pinned[0]),
    .fold_host_state = x86_fold_host_state,
    .clear_host_state = x86_clear_host_state,
};
