/*
 * The x86-64 JIT backend's internals, shared by its emitter and code buffer (jit-emit.c), its op
 * lowering (jit-compile.c) and its runner (jit.c). Internal to core/tcg.
 *
 * Machine code is produced with Zydis's encoder, one ZydisEncoderRequest per host instruction, except
 * (a) the rel32 branches whose targets are patched later (labels, chaining), whose displacement field has
 * to be found and rewritten, and (b) a handful of hot forms (register/[rbp+disp] moves and ALU ops,
 * constant loads, immediate stores) that perf showed dominating translation time through the encoder.
 */
#ifndef EMBER_TCG_JIT_H
#define EMBER_TCG_JIT_H

#include <stdbool.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

#include "core/tcg/tcg.h"

/* Host registers by their encoding number. */
enum {
    JR_RAX, JR_RCX, JR_RDX, JR_RBX, JR_RSP, JR_RBP, JR_RSI, JR_RDI,
    JR_R8, JR_R9, JR_R10, JR_R11, JR_R12, JR_R13, JR_R14, JR_R15,
};

/* The CPU state pointer lives here for the whole run (callee-saved, so helpers keep it). */
#define JIT_ENV JR_RBP

/* x86 condition codes (the low nibble of Jcc/SETcc/CMOVcc). */
enum {
    JCC_O, JCC_NO, JCC_B, JCC_AE, JCC_E, JCC_NE, JCC_BE, JCC_A,
    JCC_S, JCC_NS, JCC_P, JCC_NP, JCC_L, JCC_GE, JCC_LE, JCC_G,
};

/* Where code is being written. Overflow is sticky: the caller checks it once at the end. */
typedef struct JitBuf {
    uint8_t *start, *p, *end;
    bool overflow;   /* ran out of room */
    bool error;      /* asked the encoder for a form that does not exist (a bug in the lowering) */
    /* While p == flags_at, the host flags are those an add/sub/and/or/xor left for the value in flags_reg
       (flags_bits wide): ZF and SF as `test flags_reg, flags_reg` would set them (jit_flags_of_result). Only
       the hand-encoded forms keep this; anything else emitted moves p past it. A label clears it. */
    const uint8_t *flags_at;
    int flags_reg, flags_bits;
} JitBuf;

/* Operand constructors for jit_ins. */
ZydisEncoderOperand jit_r(int reg, int bits);
ZydisEncoderOperand jit_m(int base, int32_t disp, int bytes);
ZydisEncoderOperand jit_i(int64_t v);

/* Encode one instruction with up to three operands. */
void jit_ins(JitBuf *b, ZydisMnemonic m, int n, ZydisEncoderOperand o0, ZydisEncoderOperand o1,
             ZydisEncoderOperand o2);
/* Encode a whole request (an instruction the target describes: host-insn.h). */
void jit_ins_req(JitBuf *b, const ZydisEncoderRequest *req);
#define JI0(b, m) jit_ins((b), ZYDIS_MNEMONIC_##m, 0, jit_i(0), jit_i(0), jit_i(0))
#define JI1(b, m, x) jit_ins((b), ZYDIS_MNEMONIC_##m, 1, (x), jit_i(0), jit_i(0))
#define JI2(b, m, x, y) jit_ins((b), ZYDIS_MNEMONIC_##m, 2, (x), (y), jit_i(0))
#define JI3(b, m, x, y, z) jit_ins((b), ZYDIS_MNEMONIC_##m, 3, (x), (y), (z))

/* Hand-encoded hot forms (see jit-emit.c): opcode /r with a register, or with [rbp|r13 + disp]. */
enum {
    JOP_ADD = 0x01, JOP_OR = 0x09, JOP_AND = 0x21, JOP_SUB = 0x29, JOP_XOR = 0x31, JOP_CMP = 0x39,
    JOP_TEST = 0x85, JOP_MOV_STORE = 0x89, JOP_MOV_LOAD = 0x8b,
};
void jit_op_rr(JitBuf *b, uint8_t opcode, int reg, int rm, int bits);
void jit_op_rm(JitBuf *b, uint8_t opcode, int reg, int base, int32_t disp, int bits);
/* Any base/index memory form; opcode 0x0fxx for two-byte opcodes. base -1: none, disp is then an absolute
   address (plus the index, if any). */
enum { JM_W = 1, JM_66 = 2, JM_BYTEREG = 4, JM_F3 = 8 };
/* With an index: its scale (index << n, n = 0..3) in the flags. */
#define JM_SCALE(n) ((unsigned)(n) << 4)
void jit_op_mem(JitBuf *b, unsigned opcode, int reg, int base, int index, int32_t disp, unsigned flags);
/* The register-direct form (JM_BYTEREG: rm is a byte register). */
void jit_op_reg(JitBuf *b, unsigned opcode, int reg, int rm, unsigned flags);
/* movzx/movsx reg, rm (8 or 16 bits; the 64-bit form for a sign extension to 64), movsxd reg, rm32. */
void jit_extend(JitBuf *b, int reg, int rm, int from_bits, bool sign, int to_bits);
/* Register forms with immediates: group 1 (ADD 0, OR 1, AND 4, SUB 5, XOR 6, CMP 7), group 2 shifts
   (ROL 0, ROR 1, SHL 4, SHR 5, SAR 7; n < 0: by cl), group 3 (NOT 2, NEG 3, MUL 4, IMUL 5). */
void jit_alu_ri(JitBuf *b, int ext, int reg, int32_t imm, int bits);
/* The same with a memory operand [base + disp]; and test reg, imm32. */
void jit_alu_mi(JitBuf *b, int ext, int base, int32_t disp, int32_t imm, int bits);
void jit_test_ri(JitBuf *b, int reg, int32_t imm, int bits);
void jit_shift_ri(JitBuf *b, int ext, int reg, int n, int bits);
void jit_unary(JitBuf *b, int ext, int reg, int bits);
/* mov dword|qword [base + disp], simm32 */
void jit_store_imm32(JitBuf *b, int base, int32_t disp, int32_t imm, int bits);
/* qword [base + disp] = v: one immediate store when v fits a sign-extended imm32, else through rax. */
void jit_store_const64(JitBuf *b, int base, int32_t disp, uint64_t v);

/* The shortest load of a constant into a 64-bit register. */
void jit_movi(JitBuf *b, int reg, uint64_t v);
/* mov reg, imm64 always (a host address that moving the code rewrites): the address of the imm64. */
uint8_t *jit_movabs(JitBuf *b, int reg, uint64_t v);
/* setcc r8 / cmovcc r32|r64 by condition code; imul dst, src, imm; bswap r32|r64. */
void jit_setcc(JitBuf *b, int cc, int reg8);
void jit_cmov(JitBuf *b, int cc, int dst, int src, int bits);
void jit_imul_ri(JitBuf *b, int dst, int src, int32_t imm, int bits);
void jit_bswap(JitBuf *b, int reg, int bits);
/* mov of the low 8 or 16 bits, keeping the rest of dst. */
void jit_mov_low(JitBuf *b, int dst, int src, int bits);
/* Two-byte opcodes for jit_op_reg (reg = the destination): imul dst, src; bsf; bsr. */
enum { JOP_IMUL = 0x0faf, JOP_BSF = 0x0fbc, JOP_BSR = 0x0fbd };
/* movdqu xmm, m128 and back (F3 0F 6F / F3 0F 7F) through jit_op_mem with JM_F3. */
enum { JOP_MOVDQU_LOAD = 0x0f6f, JOP_MOVDQU_STORE = 0x0f7f };

/* Do the host flags hold ZF and SF of reg's bits-wide value, from the instruction just emitted? */
static inline bool jit_flags_of_result(const JitBuf *b, int reg, int bits)
{
    return b->flags_at == b->p && b->flags_reg == reg && b->flags_bits == bits;
}

/* Hand-written rel32 branches: return the address of the 4-byte displacement for later patching. */
uint8_t *jit_jmp32(JitBuf *b, const void *target);
uint8_t *jit_jcc32(JitBuf *b, int cc, const void *target);
/* A jmp whose displacement is 4-byte aligned, so that it can be rewritten atomically. */
uint8_t *jit_jmp32_aligned(JitBuf *b, const void *target);
/* Point a rel32 field at target (false if out of range). */
bool jit_patch_rel32(uint8_t *field, const void *target, bool atomic);

/*
 * The code buffer: one large reservation (RWX) cut into a ring of slices, bump-allocated. When a slice
 * fills up, every block is dropped (tb_flush_all) and allocation moves to the next slice, which is reused
 * only once no thread can still be running its old code (see jit-emit.c). All slices share one
 * reservation, so every rel32 between blocks, stubs and the trampoline is in range.
 */
uint8_t *jit_buf_reserve(size_t max_bytes, bool *flushed);
void jit_buf_commit(uint8_t *end);
/* The shared trampoline (prologue: enter a block; epilogue: return a TCGExit). */
extern uint8_t *jit_prologue, *jit_epilogue;

/*
 * Pinned guest registers (TCGTargetOps.pinned): in user mode they live in host registers for as long as
 * generated code runs, across chained and looked-up blocks, instead of in the state. Their own trampoline
 * loads them on entry and stores them on every exit; inside a block they reach the state only where it
 * must be exact (before a helper that may read it or raise, at a fault site's restore), and a pin in a
 * caller-saved register also around every helper call (stored before, loaded after).
 */
/* The callee-saved host registers but rbp (the state), then r11: a fifth pin once made sha256's rounds,
   short of registers, 10-17% slower; measured again with rbx as the fifth (jit_pins_prepare), sha256 is
   unchanged, and with r11 as the sixth within noise (r10 as a seventh made gzip or sha256 3-7% slower). */
#define JIT_MAX_PINS 6
struct TCGCPU;
typedef struct JitPins {
    const void *owner;            /* the TCGTargetOps they were built for; NULL: none yet */
    int n;
    int reg[JIT_MAX_PINS];        /* host register of each */
    uint32_t env_offset[JIT_MAX_PINS];
    uint8_t *prologue, *epilogue;
} JitPins;
/* Before compiling for cpu (the buffer lock held): build its target's pinned trampoline if it pins, the
   CPU is in user mode and none is built yet. One pinned layout per process, the first target's. */
void jit_pins_prepare(const struct TCGCPU *cpu);
/* The pins this CPU's blocks are compiled and entered with, or NULL (none: the plain trampoline). */
const JitPins *jit_pins_for(const struct TCGCPU *cpu);
extern JitPins jit_pins;   /* the one pinned layout (owner NULL: none) */
bool jit_buf_init(void);
/* Tests: make slices this small (0: the default), and the ring this long (0: what fits), to exercise
   the flush. Drops every block; no thread may be running generated code. */
void jit_buf_set_slice_size(size_t bytes);
void jit_buf_set_geometry(size_t slice_bytes, unsigned nslices);
extern unsigned long jit_buf_flushes;

/*
 * Which threads may be running generated code (jit.c). Each thread records the epoch at which it entered
 * generated code (0 while it is outside). jit_epoch_advance starts a new epoch and returns the old one;
 * jit_epoch_wait_quiescent returns once no thread is inside since an epoch <= `epoch`, asking such
 * threads to come back to the loop meanwhile.
 */
uint64_t jit_epoch_advance(void);
/* Around a host fork (see tcg_fork_lock): the buffer's lock; and in the child, forget the other threads. */
void jit_buf_fork_lock(bool lock);
void jit_fork_child(void);
void jit_epoch_wait_quiescent(uint64_t epoch);
/* Without waiting: is no thread at all, the calling one included, inside since an epoch <= `epoch`? If
   not, those threads are asked to leave at their next block entry (so that a later call can say yes). */
bool jit_epoch_quiescent(uint64_t epoch);

/* Block layout: a header, then the entry. TranslationBlock.code points at the header. */
/* Offsets are from the header (python3's start-up makes 21,000 blocks: pointers here made the header 128
   bytes instead of 80, a tenth of all the code). */
/* A block with its fault sites spans at most this many bytes from its header (jit_compile retries a longer
   one shorter), so that offsets within it fit the header's 16 bits: 48 bytes a block instead of 80. */
#define JIT_MAX_BLOCK_BYTES 0xffffu
typedef struct JitBlock {
    uint16_t jmp_field[TCG_GOTO_TB_SLOTS];   /* goto_tb slots: the rel32 to patch (0: slot unused) */
    uint16_t stub[TCG_GOTO_TB_SLOTS];        /* ...and where it points when unchained */
    uint32_t bytes;          /* from the header to the end of the block's code and its fault sites */
    uint32_t sites;          /* offset from the header of the fault-site table (jit-sites.c) */
    uint32_t nsites;
    uint32_t pinned;         /* nonzero: compiled with the pins (jit_pins), which every fault site restores */
    uint32_t check_bytes;    /* the exit-request check at the entry, which forward chained jumps skip */
} JitBlock;
#define JIT_BLOCK_HDR ((sizeof(JitBlock) + 15) & ~(size_t)15)
#define JIT_ENTRY(code) ((uint8_t *)(code) + JIT_BLOCK_HDR)
/* The code at offset off of block h (off 0: none). */
static inline uint8_t *jit_block_at_offset(const JitBlock *h, uint32_t off)
{
    return off ? (uint8_t *)h + off : NULL;
}

struct TranslationBlock;
int jit_compile(TCGContext *s, struct TranslationBlock *tb);
/* Translations kept across runs (tb-persist.h, jit-freeze.c): the block this thread has just compiled as
   a position-independent image, and such an image placed as a block's code. */
bool jit_freeze(const struct TranslationBlock *tb, GByteArray *out);
int jit_thaw(struct TranslationBlock *tb, const void *image, size_t bytes);

/* The committed block whose bytes hold host address pc, or NULL (jit-emit.c's block map). Safe in a
   signal handler on the thread that runs the block. */
const JitBlock *jit_block_at(uintptr_t pc);

/* A fault at host pc in generated code: bring the CPU state up to date from the host registers (by
   encoding number) as the fault site records them (jit-sites.c). False if pc is not a fault site. */
struct TCGCPU;
bool jit_restore_state(struct TCGCPU *cpu, uintptr_t pc, const uint64_t regs[16]);

/* EMBER_JIT_DUMP=1: each compiled block's host code, disassembled, to stderr (jit-dump.c). */
bool jit_dump_enabled(void);
void jit_dump_block(const struct TranslationBlock *tb);

/* -perfmap: name compiled blocks in /tmp/perf-<pid>.map for perf (jit-perfmap.c). False if it cannot be
   created (errno says why). */
bool jit_perfmap_open(void);
void jit_perfmap_block(const struct TranslationBlock *tb);
void jit_perfmap_fork_child(void);

#endif
