/*
 * The JIT compiler's per-block state and its register allocator (jit-regs.c), shared with the op lowering
 * (jit-compile.c). Internal to core/tcg.
 *
 * Allocation model. Every temp (guest-register globals, the lazy-flag globals, block locals, even
 * constants) may live in one of twelve host registers for a stretch of the block. rax and rcx are never
 * allocated: the lowering uses them as scratch (shift counts in cl, values passed through). rdx is scratch
 * for a few ops (mul's rdx:rax, calls, exits: jit_op_keeps_rdx), so it holds only a local that dies before
 * the next of those (jit_rdx_fits). A register's copy is "dirty" when the temp's home (its env slot for a
 * global, its TCGCPU.frame slot for a local) is stale.
 *
 * Precise state: dirty globals are written back (and stay cached, now clean) before anything that can
 * observe env — a helper call that is not pure, a label, every block exit, and a guest memory access
 * that has no fault site (one that has records where they are instead: the fault handler restores them,
 * jit-sites.c). A conditional branch writes them back on its taken path only (jit-branch.c). Between those
 * points guest registers and flags live only in host registers, which is where the speed comes from.
 * Locals are written to their frame slot only when evicted while still live, or on the way to a label
 * (the target reads them from memory). A block with a backward branch keeps every local live.
 *
 * Pinned globals (jit.h) are bound to their registers from the block's entry to its end and never
 * evicted. Branches, labels and chained exits leave them in place; they are written back only where the
 * state must be exact (jit_sync_exact), and reloaded after anything that may have changed the state.
 */
#ifndef EMBER_TCG_JIT_CTX_H
#define EMBER_TCG_JIT_CTX_H

#include "core/tcg/jit.h"
#include "core/tcg/tb.h"

#define JIT_SITE_WORDS 8192
#define JIT_SITE_FIXED 5   /* words of a fault site before its register list (jit-sites.c) */
#define JIT_OP_TEMPS (1 + TCG_MAX_HELPER_ARGS)   /* a call's result and arguments; other ops have fewer */
#define JIT_NO_READ INT16_MAX
#define JIT_MAX_PENDING_CONSTS 4

typedef struct JitFixup {
    uint8_t *field;
    int label;            /* -1: the block's exit stub */
} JitFixup;

/* A conditional branch's write-backs, emitted after the block's body (jit-branch.c). */
typedef struct JitBranchStub {
    uint8_t *field;       /* the branch's rel32, which the stub's position goes into */
    int label;            /* where the stub goes on to */
    uint16_t off, len;    /* its bytes in JitCtx.stub_code */
} JitBranchStub;
#define JIT_MAX_STUBS 256
#define JIT_STUB_MAX_BYTES 128   /* eleven 7-byte stores at most */

/* A host address in a block's code, which moving the code (jit-freeze.c) rewrites. */
typedef enum {
    JIT_RELOC_TB,     /* imm64: the TranslationBlock's address + value */
    JIT_RELOC_FN,     /* imm64: a function of ember's (value: its address when compiled) */
    JIT_RELOC_EXIT,   /* rel32 to the epilogue */
} JitRelocKind;
typedef struct JitReloc {
    uint32_t at;      /* offset of the field from the block's header */
    uint32_t kind;
    int64_t value;
} JitReloc;
#define JIT_MAX_RELOCS 1024

typedef struct JitCtx {
    TCGContext *s;
    /* The register file: per host register number (0..15). */
    TCGTemp reg_temp[16];        /* the temp it holds, -1: free */
    bool reg_dirty[16];          /* the temp's home is stale */
    bool reg_zext[16];           /* its upper 32 bits are known to be zero */
    uint32_t reg_used[16];       /* for least-recently-used eviction */
    uint16_t locked;             /* registers the current op is using: never evicted under it */
    uint16_t local_regs;         /* registers holding locals (which die: jit_regs_begin_op) */
    uint16_t pinned;             /* registers holding pinned globals (jit.h): never given up */
    uint32_t clock;
    int8_t temp_reg[TCG_MAX_TEMPS];   /* temp -> host register + 1 (0: not in a register) */
    int temps_bound;                  /* temp_reg is 0 from here on */
    /* Liveness: the index of the last op that reads each temp, how many ops read it, and whether any
       branch goes backward (then every local stays live to the end). */
    int last_use[TCG_MAX_TEMPS];
    uint16_t nuses[TCG_MAX_TEMPS];
    /* Next reads, for choosing what to evict (jit_reg_alloc), in optimized blocks (a cold one evicts the
       least recently used: it runs a few times only, and the pass costs translation time): for op i, each
       temp it reads or writes and the op that reads that temp next (JIT_NO_READ: nothing in the block
       does); temp_next: the same for every temp as of the current op. */
    bool next_reads;
    uint8_t op_nnext[TCG_MAX_OPS];
    int16_t op_next_temp[TCG_MAX_OPS][JIT_OP_TEMPS];
    int16_t op_next_at[TCG_MAX_OPS][JIT_OP_TEMPS];
    int16_t temp_next[TCG_MAX_TEMPS];
    /* Globals set to a constant that is not stored yet (jit_store_const_global): the store is made where a
       dirty register would be written back (or listed at a fault site), and skipped when the global is
       set again first. cc_op, set by nearly every flag-writing instruction, is the one that counts. */
    struct JitPendingConst {
        TCGTemp t;
        int32_t v;
    } konst[JIT_MAX_PENDING_CONSTS];
    int nkonst;
    int cur_op;
    bool has_back_branch;
    /* Guest addresses folded into the access: op i (an add of a constant) is not emitted, and the memory
       op that uses its result addresses [base + disp] directly. */
    bool folded[TCG_MAX_OPS];
    bool keeps_rdx[TCG_MAX_OPS];   /* the op's code leaves rdx alone (jit_op_keeps_rdx) */
    /* A guest access whose address ops were folded into it (folded[]): it addresses [base + disp], or in user
       mode [base + index << scale + disp] (index -1: none). */
    struct JitAddrFold {
        TCGTemp base, index;
        int32_t disp;
        uint8_t scale;
        bool on;
    } addr_fold[TCG_MAX_OPS];
    /* insn_start is stored lazily: only an op that can observe it (a guest memory access that may
       fault, a helper, any block exit or branch) writes the pc of its instruction, and a pc whose upper
       half is already in TCGCPU.insn_pc needs only a 4-byte store. */
    uint64_t pending_pc;
    bool pc_pending;
    /* The store of the next pc before a goto_tb, moved into its unchained exit stub. */
    uint64_t deferred_pc;
    bool has_deferred_pc;
    bool pc_hi_known;
    uint32_t pc_hi;
    bool pc_in_rax;       /* the op before this goto_ptr left the pc in rax, not yet in the state */
    bool pc_probed;       /* a try_goto_ptr's probe has missed on the state's pc, which is unchanged */
    /* A pinned global whose register holds its value minus pin_disp (jit-pin-disp.c); -1: none. */
    TCGTemp pin_disp_temp;
    int32_t pin_disp;
    TranslationBlock *tb;
    JitBuf b;
    JitBlock *hdr;
    bool soft_mem;        /* guest memory through TCGCPU.mem (system mode) */
    const JitPins *pins;  /* pinned guest registers (jit.h), or NULL */
    /* Fault sites (jit-sites.c): a flat list of records, appended to the block's code at the end. */
    uint32_t site_words[JIT_SITE_WORDS];
    int nsite_words, nsites, site_open;
    uint8_t *label_at[TCG_MAX_LABELS];
    bool cross_branches;  /* a branch goes to a label in another instruction (see jit_label_paths) */
    JitFixup fix[TCG_MAX_OPS + 64];
    int nfix;
    JitReloc relocs[JIT_MAX_RELOCS];
    int nrelocs;
    bool immovable;       /* the code holds a host address no relocation describes */
    bool unreachable;     /* the code emitted last leaves or jumps away: nothing falls through here */
    JitBranchStub stubs[JIT_MAX_STUBS];
    int nstubs;
    uint8_t stub_code[16384];
    int stub_bytes;
} JitCtx;

/* Patch the rel32 at field to the label's position once the body is done (label -1: the exit stub). */
/* Labels of jit_fixup besides the IR's: the block's exit that falls off its end (-1), its exit tail. */
#define JIT_FIX_EXIT_TAIL (-2)
void jit_fixup(JitCtx *c, uint8_t *field, int label);
/* This thread's last successful compile, until its next one (for jit_freeze). */
extern __thread const JitCtx *jit_compiled_last;

/* A conditional branch's write-backs out of line (jit-branch.c): open before the compare (a stub index,
   or -1: write back in line with jit_sync), close with the branch's rel32 and its label. Before a label
   that nothing falls into, place its stubs there; finish emits the rest after the body. */
int jit_branch_stub_open(JitCtx *c);
void jit_branch_stub_close(JitCtx *c, int stub, uint8_t *field, int label);
void jit_branch_stubs_before_label(JitCtx *c, int label);
void jit_branch_stubs_finish(JitCtx *c);

/* The env offset of a temp's home; -1 for env and constants. */
int64_t jit_slot(const JitCtx *c, TCGTemp t);

/* Whether host register r holds a pinned global (jit.h). */
static inline bool jit_reg_pinned(const JitCtx *c, int r) { return (c->pinned >> r) & 1; }
/* Whether temp t is a pinned global (in its register). */
static inline bool jit_temp_pinned(const JitCtx *c, TCGTemp t)
{
    return c->temp_reg[t] && jit_reg_pinned(c, c->temp_reg[t] - 1);
}

/* Reset the register file for a new block (c->pins set): pinned globals bound, dirty. */
void jit_regs_reset(JitCtx *c);
/* Start op i: unlock everything, free the registers of locals that are never read again. */
void jit_regs_begin_op(JitCtx *c, int i);
/* Compute the next reads (op_next_*) of the block's ops (after jit_liveness). */
void jit_regs_next_reads(JitCtx *c);

/* The register holding t (loaded on first use), locked for this op; rbp for env. */
int jit_use(JitCtx *c, TCGTemp t);
/* A register for t's new value, locked and dirty; its old value is not loaded. If `from` is a local in a
   register that dies at this op (and is not `keep`), its register is taken over instead of copied. */
int jit_def(JitCtx *c, TCGTemp t, TCGTemp from, TCGTemp keep);
/* Whether t is a local that is never read after this op. */
bool jit_dead_after(const JitCtx *c, TCGTemp t);

/* reg = t's value (without allocating); t = reg's value. */
void jit_get(JitCtx *c, int reg, TCGTemp t, int bits);
void jit_put(JitCtx *c, TCGTemp t, int reg, bool zext);

/* t = v for a global that nothing later in the block reads (cc_op, most often): one immediate store to its
   env slot, not made until the state must hold it (JitCtx.konst), instead of a register held to the
   block's end. False when that does not apply. */
bool jit_store_const_global(JitCtx *c, TCGTemp t, uint64_t v);
/* Write dirty globals back (they stay cached), but for pinned ones, which stay in their registers across
   branches, labels and exits; with locals too: also dirty live locals. */
void jit_sync(JitCtx *c, bool locals);
/* Make the state exact: every dirty global written back, the pinned too (before a helper that may read
   the state or leave through the exception path, or an access without a fault site). */
void jit_sync_exact(JitCtx *c);
/* Forget every register (after a label: nothing is known). */
void jit_regs_drop_all(JitCtx *c);
/* Forget cached globals (a helper may have changed them; they must be clean). */
void jit_regs_drop_globals(JitCtx *c);
/* Give up these registers (never pinned ones), which code is about to overwrite: what they hold is written
   back where needed. */
void jit_regs_clobber(JitCtx *c, uint16_t regs);
/* At the start of an op whose lowering uses rdx as scratch (jit_op_keeps_rdx): what rdx holds is given up,
   and nothing is put there until the next op. */
void jit_regs_reserve_rdx(JitCtx *c);
/* Before a call: caller-saved registers give up what they hold (written back where needed); a pinned one
   is written back and keeps its binding, for jit_regs_reload_caller_saved_pins after the call. */
void jit_regs_free_caller_saved(JitCtx *c);
void jit_regs_reload_caller_saved_pins(JitCtx *c);
/* An access to env bytes [lo, hi): before it (store false), cached globals overlapping it are written
   back; after a store to it (store true), they forget their copy, or a pinned one reloads it. */
void jit_regs_env_access(JitCtx *c, int64_t lo, int64_t hi, bool store);

/* Deferred additions to a pinned global (jit-pin-disp.c). Before op i: true if the op was such an
   addition and is done; else the register is made exact first where op i could see it. Most ops are
   neither additions nor behind one: they take the inline test only. */
bool jit_pin_disp_absorb_op(JitCtx *c, int i);
static inline bool jit_pin_disp_absorb(JitCtx *c, int i)
{
    TCGOpcode opc = (TCGOpcode)c->s->ops[i].opc;
    if (c->pin_disp_temp < 0 && opc != INDEX_op_add && opc != INDEX_op_sub) {
        return false;
    }
    return jit_pin_disp_absorb_op(c, i);
}
/* What a guest access based on temp `base` adds to its displacement (0 unless base is deferred). */
int32_t jit_pin_disp_of(const JitCtx *c, TCGTemp base);
/* Make the deferred register exact (one LEA; the host flags are left alone). */
void jit_pin_disp_settle(JitCtx *c);

/* Call fn with up to six argument temps (TCG_TEMP_ENV for env); its result into ret (-1: none). */
void jit_call_fn(JitCtx *c, const void *fn, int nargs, const TCGTemp *args, TCGTemp ret, bool ret32,
                 unsigned flags);
/* A guest memory op (guest_ld/st/ld128/st128) at base + disp through the soft-MMU (jit-softmmu.c): the TLB
   lookup inline, the call on a miss out of line, emitted by jit_soft_finish after the block's body (always
   called, so that nothing carries over to the next block). */
void jit_soft_mem(JitCtx *c, const TCGOp *op, int bits, TCGTemp base, int32_t disp);
void jit_soft_finish(JitCtx *c);
/* goto_ptr in system mode: emit the inline jump-cache lookup (after jit_sync); returns the function the
   miss path calls instead of tcg_cpu_find_tb (same signature). */
const void *jit_soft_goto_ptr(JitCtx *c);

/*
 * Fault sites (jit-sites.c). In user mode a guest load or store is one host instruction that may fault;
 * rather than write every dirty guest register back before it, the compiler records, for the instruction's
 * host bytes, the guest pc and which host registers hold which dirty globals. The fault handler restores
 * them from the signal context (jit_restore_state). jit_site_open captures the register file just before
 * the access is emitted (false: no room, write back instead); jit_site_close gives its host bytes.
 */
void jit_sites_reset(JitCtx *c);
/* Around a user-mode guest access at the current op: open a fault site (false: none, the state was written
   back instead), then close it with the access's first host byte. */
bool jit_mem_site_open(JitCtx *c);
void jit_mem_site_close(JitCtx *c, bool site, const uint8_t *start);
/* A call annotated with its host instruction (host-insn.h), emitted inline (jit-host-insn.c). */
int jit_host_insn(JitCtx *c, const TCGOp *op);
bool jit_site_open(JitCtx *c, uint64_t guest_pc);
void jit_site_close(JitCtx *c, const uint8_t *start, const uint8_t *end);
/* Append the table after the block's code (at the buffer's current position) and fill the header. */
void jit_sites_finish(JitCtx *c);

#endif
