/*
 * The JIT's machine-code emitter (Zydis's encoder, plus the hand-written rel32 branches that get patched)
 * and its code buffer with the shared entry/exit trampoline.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit.h"
#include "core/tcg/tb.h"

static inline void jit_byte(JitBuf *b, uint8_t v);
static inline bool jit_room(JitBuf *b);
static inline void jit_rex(JitBuf *b, int bits, int reg, int rm);
static void jit_imm_tail(JitBuf *b, int32_t imm, bool byte);

/* --- operands and instructions ------------------------------------------------------------------- */

static ZydisRegister jit_zreg(int reg, int bits)
{
    switch (bits) {
    case 8: {
        static const ZydisRegister r8[16] = {
            ZYDIS_REGISTER_AL, ZYDIS_REGISTER_CL, ZYDIS_REGISTER_DL, ZYDIS_REGISTER_BL,
            ZYDIS_REGISTER_SPL, ZYDIS_REGISTER_BPL, ZYDIS_REGISTER_SIL, ZYDIS_REGISTER_DIL,
            ZYDIS_REGISTER_R8B, ZYDIS_REGISTER_R9B, ZYDIS_REGISTER_R10B, ZYDIS_REGISTER_R11B,
            ZYDIS_REGISTER_R12B, ZYDIS_REGISTER_R13B, ZYDIS_REGISTER_R14B, ZYDIS_REGISTER_R15B,
        };
        return r8[reg & 15];
    }
    case 16: return (ZydisRegister)(ZYDIS_REGISTER_AX + (reg & 15));
    case 32: return (ZydisRegister)(ZYDIS_REGISTER_EAX + (reg & 15));
    case 128: return (ZydisRegister)(ZYDIS_REGISTER_XMM0 + (reg & 15));
    case 256: return (ZydisRegister)(ZYDIS_REGISTER_YMM0 + (reg & 15));
    default: return (ZydisRegister)(ZYDIS_REGISTER_RAX + (reg & 15));
    }
}

ZydisEncoderOperand jit_r(int reg, int bits)
{
    ZydisEncoderOperand o;
    memset(&o, 0, sizeof(o));
    o.type = ZYDIS_OPERAND_TYPE_REGISTER;
    o.reg.value = jit_zreg(reg, bits);
    return o;
}

ZydisEncoderOperand jit_m(int base, int32_t disp, int bytes)
{
    ZydisEncoderOperand o;
    memset(&o, 0, sizeof(o));
    o.type = ZYDIS_OPERAND_TYPE_MEMORY;
    o.mem.base = jit_zreg(base, 64);
    o.mem.index = ZYDIS_REGISTER_NONE;
    o.mem.displacement = disp;
    o.mem.size = (ZyanU16)bytes;
    return o;
}

ZydisEncoderOperand jit_i(int64_t v)
{
    ZydisEncoderOperand o;
    memset(&o, 0, sizeof(o));
    o.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    o.imm.s = v;
    return o;
}

void jit_ins_req(JitBuf *b, const ZydisEncoderRequest *req)
{
    if (b->overflow || b->end - b->p < ZYDIS_MAX_INSTRUCTION_LENGTH) {
        b->overflow = true;
        return;
    }
    ZyanUSize len = (ZyanUSize)(b->end - b->p);
    if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(req, b->p, &len))) {
        /* A form we asked for that does not exist: a bug here, surfaced as a failed compile. */
        b->error = true;
        if (getenv("EMBER_JIT_DEBUG")) {
            fprintf(stderr, "jit: cannot encode %s with %d operands (types %d %d)\n",
                    ZydisMnemonicGetString(req->mnemonic), req->operand_count, req->operands[0].type,
                    req->operands[1].type);
        }
        return;
    }
    b->p += len;
}

void jit_ins(JitBuf *b, ZydisMnemonic m, int n, ZydisEncoderOperand o0, ZydisEncoderOperand o1,
             ZydisEncoderOperand o2)
{
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof(req));
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = m;
    req.operand_count = (ZyanU8)n;
    req.operands[0] = o0;
    req.operands[1] = o1;
    req.operands[2] = o2;
    jit_ins_req(b, &req);
}

void jit_movi(JitBuf *b, int reg, uint64_t v)
{
    if (!jit_room(b)) {
        return;
    }
    if (v <= 0xffffffffULL) {
        /* mov r32, imm32 (B8+r): zero-extends */
        jit_rex(b, 32, 0, reg);
        jit_byte(b, (uint8_t)(0xb8 | (reg & 7)));
        uint32_t x = (uint32_t)v;
        memcpy(b->p, &x, 4);
        b->p += 4;
    } else if ((int64_t)v == (int32_t)v) {
        /* mov r/m64, simm32 (REX.W C7 /0) */
        jit_rex(b, 64, 0, reg);
        jit_byte(b, 0xc7);
        jit_byte(b, (uint8_t)(0xc0 | (reg & 7)));
        int32_t x = (int32_t)v;
        memcpy(b->p, &x, 4);
        b->p += 4;
    } else {
        /* mov r64, imm64 (REX.W B8+r) */
        jit_rex(b, 64, 0, reg);
        jit_byte(b, (uint8_t)(0xb8 | (reg & 7)));
        memcpy(b->p, &v, 8);
        b->p += 8;
    }
}

uint8_t *jit_movabs(JitBuf *b, int reg, uint64_t v)
{
    if (!jit_room(b)) {
        return NULL;
    }
    jit_rex(b, 64, 0, reg);
    jit_byte(b, (uint8_t)(0xb8 | (reg & 7)));
    uint8_t *field = b->p;
    memcpy(b->p, &v, 8);
    b->p += 8;
    return field;
}

void jit_store_imm32(JitBuf *b, int base, int32_t disp, int32_t imm, int bits)
{
    /* mov r/m32|64, imm32 (C7 /0); the 64-bit form sign-extends */
    jit_op_rm(b, 0xc7, 0, base, disp, bits);
    jit_imm_tail(b, imm, false);
}

void jit_store_const64(JitBuf *b, int base, int32_t disp, uint64_t v)
{
    if ((int64_t)v == (int32_t)v) {
        jit_store_imm32(b, base, disp, (int32_t)v, 64);
    } else {
        jit_movi(b, JR_RAX, v);
        jit_op_rm(b, JOP_MOV_STORE, JR_RAX, base, disp, 64);
    }
}


/* --- the hot forms, encoded by hand -------------------------------------------------------------------
 * Measured: with every instruction going through ZydisEncoderEncodeInstruction, encoding took about half
 * of python3's start-up time under the JIT (perf: libZydis ~32%, building the request ~14%). These few
 * forms are most of what the compiler emits, so they are written directly: an optional REX prefix, the
 * opcode, and a ModRM for a register or for [rbp/r13 + disp]. Everything else still goes through Zydis.
 */

static inline void jit_byte(JitBuf *b, uint8_t v) { *b->p++ = v; }

static inline bool jit_room(JitBuf *b)
{
    if (b->overflow || b->end - b->p < 16) {
        b->overflow = true;
        return false;
    }
    return true;
}

static inline void jit_rex(JitBuf *b, int bits, int reg, int rm)
{
    uint8_t rex = (uint8_t)(0x40 | (bits == 64 ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((rm >> 3) & 1));
    if (rex != 0x40) {
        jit_byte(b, rex);
    }
}

/* An instruction that leaves the flags alone was emitted from `start` on, writing register dest (-1: a
   memory store): what the flags held still holds, unless dest was the register they describe. */
static void jit_flags_kept(JitBuf *b, const uint8_t *start, int dest)
{
    if (b->flags_at == start && dest != b->flags_reg) {
        b->flags_at = b->p;
    }
}

/* After an instruction emitted from `start` with this opcode and ModRM reg field, whose r/m operand is
   register rm (-1: memory): the opcodes known to leave the flags alone keep JitBuf.flags_at going (moves,
   loads, extending loads, lea); anything else has moved p past it. */
static void jit_flags_after(JitBuf *b, const uint8_t *start, unsigned opcode, int reg, int rm)
{
    switch (opcode) {
    case JOP_MOV_LOAD: case 0x8d: case 0x63: case 0x0fb6: case 0x0fb7: case 0x0fbe: case 0x0fbf:
        jit_flags_kept(b, start, reg);   /* they write their reg operand */
        break;
    case JOP_MOV_STORE: case 0x88:
        jit_flags_kept(b, start, rm);    /* they write their r/m operand */
        break;
    default:
        break;
    }
}

/* An ALU instruction (add, or, and, sub, xor) just left its result in reg: the flags describe it. */
static void jit_flags_result(JitBuf *b, int reg, int bits)
{
    b->flags_at = b->p;
    b->flags_reg = reg;
    b->flags_bits = bits;
}

/* opcode with ModRM = reg, rm (register direct). */
void jit_op_rr(JitBuf *b, uint8_t opcode, int reg, int rm, int bits)
{
    const uint8_t *start = b->p;
    jit_op_reg(b, opcode, reg, rm, bits == 64 ? JM_W : 0);
    if (opcode == JOP_ADD || opcode == JOP_OR || opcode == JOP_AND || opcode == JOP_SUB || opcode == JOP_XOR) {
        jit_flags_result(b, rm, bits);
    } else {
        jit_flags_after(b, start, opcode, reg, rm);
    }
}

/* The immediate after an opcode and its ModRM (which made room for it): a byte or four. */
static void jit_imm_tail(JitBuf *b, int32_t imm, bool byte)
{
    if (b->overflow) {
        return;
    }
    if (byte) {
        jit_byte(b, (uint8_t)imm);
    } else {
        memcpy(b->p, &imm, 4);
        b->p += 4;
    }
}

/* opcode with ModRM = reg, [base + disp], where base is rbp or r13 (no SIB needed). */
void jit_op_rm(JitBuf *b, uint8_t opcode, int reg, int base, int32_t disp, int bits)
{
    if (!jit_room(b)) {
        return;
    }
    const uint8_t *start = b->p;
    jit_rex(b, bits, reg, base);
    jit_byte(b, opcode);
    if (disp == (int8_t)disp) {
        jit_byte(b, (uint8_t)(0x40 | (reg & 7) << 3 | (base & 7)));
        jit_byte(b, (uint8_t)disp);
    } else {
        jit_byte(b, (uint8_t)(0x80 | (reg & 7) << 3 | (base & 7)));
        memcpy(b->p, &disp, 4);
        b->p += 4;
    }
    jit_flags_after(b, start, opcode, reg, -1);
}

void jit_extend(JitBuf *b, int reg, int rm, int from_bits, bool sign, int to_bits)
{
    unsigned w = sign && to_bits == 64 ? JM_W : 0;
    if (from_bits == 32) {
        jit_op_reg(b, 0x63, reg, rm, JM_W);   /* movsxd */
    } else if (from_bits == 8) {
        jit_op_reg(b, sign ? 0x0fbe : 0x0fb6, reg, rm, w | JM_BYTEREG);
    } else {
        jit_op_reg(b, sign ? 0x0fbf : 0x0fb7, reg, rm, w);
    }
}

/* Any opcode (one byte, or 0x0F xx given as 0x0fxx) with ModRM = reg, rm (register direct); JM_BYTEREG:
   rm is a byte register (spl..dil need a REX prefix). */
void jit_op_reg(JitBuf *b, unsigned opcode, int reg, int rm, unsigned flags)
{
    if (!jit_room(b)) {
        return;
    }
    uint8_t rex = (uint8_t)(0x40 | ((flags & JM_W) ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((rm >> 3) & 1));
    if (rex != 0x40 || ((flags & JM_BYTEREG) && rm >= 4 && rm < 8)) {
        jit_byte(b, rex);
    }
    if (opcode > 0xff) {
        jit_byte(b, (uint8_t)(opcode >> 8));
    }
    jit_byte(b, (uint8_t)opcode);
    jit_byte(b, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* Any opcode (one byte, or 0x0F xx given as 0x0fxx) with ModRM = reg, [base + index + disp], for any
   base (rsp/r12 need a SIB, rbp/r13 a displacement) and an optional index (not rsp; -1: none). */
void jit_op_mem(JitBuf *b, unsigned opcode, int reg, int base, int index, int32_t disp, unsigned flags)
{
    if (!jit_room(b)) {
        return;
    }
    const uint8_t *start = b->p;
    if (flags & JM_66) {
        jit_byte(b, 0x66);
    }
    if (flags & JM_F3) {
        jit_byte(b, 0xf3);
    }
    /* No base (base < 0): [index << scale + disp32], or the absolute [disp32], through a SIB byte whose
       base field is 101 with mod 00 (a bare ModRM rm of 101 would be rip-relative). */
    bool absolute = base < 0;
    uint8_t rex = (uint8_t)(0x40 | ((flags & JM_W) ? 8 : 0) | ((reg >> 3) & 1) << 2 |
                            (index >= 0 ? ((index >> 3) & 1) << 1 : 0) | (absolute ? 0 : (base >> 3) & 1));
    if (rex != 0x40 || ((flags & JM_BYTEREG) && reg >= 4 && reg < 8)) {
        jit_byte(b, rex);
    }
    if (opcode > 0xff) {
        jit_byte(b, (uint8_t)(opcode >> 8));
    }
    jit_byte(b, (uint8_t)opcode);
    int mod = absolute ? 0 : disp == 0 && (base & 7) != 5 ? 0 : disp == (int8_t)disp ? 1 : 2;
    bool sib = absolute || index >= 0 || (base & 7) == 4;
    jit_byte(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | (sib ? 4 : (base & 7))));
    if (sib) {
        unsigned scale = index >= 0 ? (flags >> 4) & 3 : 0;
        jit_byte(b, (uint8_t)(scale << 6 | (index >= 0 ? (index & 7) : 4) << 3 | (absolute ? 5 : base & 7)));
    }
    if (absolute) {
        memcpy(b->p, &disp, 4);
        b->p += 4;
    } else if (mod == 1) {
        jit_byte(b, (uint8_t)disp);
    } else if (mod == 2) {
        memcpy(b->p, &disp, 4);
        b->p += 4;
    }
    jit_flags_after(b, start, opcode, reg, -1);
}

/* Group-1 ALU op (ext: ADD 0, OR 1, AND 4, SUB 5, XOR 6, CMP 7) with a sign-extended immediate. */
void jit_alu_ri(JitBuf *b, int ext, int reg, int32_t imm, int bits)
{
    bool small = imm == (int8_t)imm;
    jit_op_rr(b, small ? 0x83 : 0x81, ext, reg, bits);
    jit_imm_tail(b, imm, small);
    if (ext != 7 && ext != 2 && ext != 3) {   /* add, or, and, sub, xor: not cmp, adc, sbb */
        jit_flags_result(b, reg, bits);
    }
}

/* The same on memory: [base + disp] op= imm (CMP: compare). */
void jit_alu_mi(JitBuf *b, int ext, int base, int32_t disp, int32_t imm, int bits)
{
    bool small = imm == (int8_t)imm;
    jit_op_rm(b, small ? 0x83 : 0x81, ext, base, disp, bits);
    jit_imm_tail(b, imm, small);
}

/* test reg, imm (F7 /0 with a 32-bit immediate, sign-extended in the 64-bit form). */
void jit_test_ri(JitBuf *b, int reg, int32_t imm, int bits)
{
    jit_op_rr(b, 0xf7, 0, reg, bits);
    jit_imm_tail(b, imm, false);
}

/* Group-2 shift/rotate (ext: ROL 0, ROR 1, SHL 4, SHR 5, SAR 7) by an immediate, or by cl (n < 0). */
void jit_shift_ri(JitBuf *b, int ext, int reg, int n, int bits)
{
    if (!jit_room(b)) {
        return;
    }
    jit_rex(b, bits, 0, reg);
    jit_byte(b, n < 0 ? 0xd3 : n == 1 ? 0xd1 : 0xc1);
    jit_byte(b, (uint8_t)(0xc0 | (ext & 7) << 3 | (reg & 7)));
    if (n > 1) {
        jit_byte(b, (uint8_t)n);
    }
}

/* setcc r8 (0F 90+cc /0): a byte register, spl..dil with a REX prefix. */
void jit_setcc(JitBuf *b, int cc, int reg8)
{
    jit_op_reg(b, 0x0f90u | (unsigned)(cc & 15), 0, reg8, JM_BYTEREG);
}

/* cmovcc dst, src (0F 40+cc /r), 32 or 64 bits. */
void jit_cmov(JitBuf *b, int cc, int dst, int src, int bits)
{
    jit_op_reg(b, 0x0f40u | (unsigned)(cc & 15), dst, src, bits == 64 ? JM_W : 0);
}

/* imul dst, src, imm (6B /r ib or 69 /r id). */
void jit_imul_ri(JitBuf *b, int dst, int src, int32_t imm, int bits)
{
    bool small = imm == (int8_t)imm;
    jit_op_reg(b, small ? 0x6b : 0x69, dst, src, bits == 64 ? JM_W : 0);
    jit_imm_tail(b, imm, small);
}

/* bswap reg (0F C8+r), 32 or 64 bits. */
void jit_bswap(JitBuf *b, int reg, int bits)
{
    if (!jit_room(b)) {
        return;
    }
    jit_rex(b, bits, 0, reg);
    jit_byte(b, 0x0f);
    jit_byte(b, (uint8_t)(0xc8 | (reg & 7)));
}

/* mov dst8|16, src8|16 (88 /r, 66 89 /r): the rest of dst is kept. A byte register 4..7 of either is
   spl..dil, which takes a REX prefix. */
void jit_mov_low(JitBuf *b, int dst, int src, int bits)
{
    if (!jit_room(b)) {
        return;
    }
    if (bits == 16) {
        jit_byte(b, 0x66);
    }
    uint8_t rex = (uint8_t)(0x40 | ((src >> 3) & 1) << 2 | ((dst >> 3) & 1));
    bool low_byte_regs = bits == 8 && ((src & ~3) == 4 || (dst & ~3) == 4);
    if (rex != 0x40 || low_byte_regs) {
        jit_byte(b, rex);
    }
    jit_byte(b, bits == 8 ? 0x88 : 0x89);
    jit_byte(b, (uint8_t)(0xc0 | (src & 7) << 3 | (dst & 7)));
}

/* Group-3 unary op on a register (ext: NOT 2, NEG 3, MUL 4 and IMUL 5 of rax by it into rdx:rax). */
void jit_unary(JitBuf *b, int ext, int reg, int bits)
{
    if (!jit_room(b)) {
        return;
    }
    jit_rex(b, bits, 0, reg);
    jit_byte(b, 0xf7);
    jit_byte(b, (uint8_t)(0xc0 | (ext & 7) << 3 | (reg & 7)));
}

/* --- patchable branches ---------------------------------------------------------------------------- */

bool jit_patch_rel32(uint8_t *field, const void *target, bool atomic)
{
    int64_t rel = (const uint8_t *)target - (field + 4);
    if (rel != (int32_t)rel) {
        return false;
    }
    int32_t r = (int32_t)rel;
    if (atomic) {
        /* The field is 4-byte aligned, so a thread running this code sees the old or the new jump. */
        __atomic_store_n((int32_t *)(void *)field, r, __ATOMIC_RELEASE);
    } else {
        memcpy(field, &r, 4);
    }
    return true;
}

static uint8_t *jit_branch(JitBuf *b, const uint8_t *op, int oplen, const void *target)
{
    if (b->overflow || b->end - b->p < oplen + 4) {
        b->overflow = true;
        return NULL;
    }
    memcpy(b->p, op, (size_t)oplen);
    uint8_t *field = b->p + oplen;
    b->p = field + 4;
    if (!jit_patch_rel32(field, target ? target : b->p, false)) {
        b->overflow = true;
    }
    return field;
}

uint8_t *jit_jmp32(JitBuf *b, const void *target)
{
    static const uint8_t op[1] = {0xe9};
    return jit_branch(b, op, 1, target);
}

uint8_t *jit_jcc32(JitBuf *b, int cc, const void *target)
{
    const uint8_t op[2] = {0x0f, (uint8_t)(0x80 | (cc & 15))};
    return jit_branch(b, op, 2, target);
}

uint8_t *jit_jmp32_aligned(JitBuf *b, const void *target)
{
    /* Pad until the displacement after the E9 starts on a 4-byte boundary, with one NOP instruction of
       the length needed (the padding runs every time the exit is taken: one instruction, not three). */
    static const uint8_t nops[4][3] = {{0}, {0x90}, {0x66, 0x90}, {0x0f, 0x1f, 0x00}};
    size_t pad = (4 - (((uintptr_t)b->p + 1) & 3)) & 3;
    if (b->overflow || (size_t)(b->end - b->p) < pad) {
        b->overflow = true;
        return NULL;
    }
    memcpy(b->p, nops[pad], pad);
    b->p += pad;
    return jit_jmp32(b, target);
}

/* --- the code buffer -------------------------------------------------------------------------------- */

#define JIT_RESERVATION (1ULL << 30)       /* all slices: rel32 reaches across it */
#define JIT_SLICE_DEFAULT (64ULL << 20)
#define JIT_TRAMPOLINE_BYTES 512
#define JIT_PINNED_TRAMPOLINE_AT 256   /* the pinned variant's offset in the trampoline area */

/*
 * The slices form a ring. When the current one is full, every block is dropped (tb_flush_all), the slice
 * is retired at the current epoch, and emission moves to the next slice of the ring. A retired slice is
 * written again only once no thread can still be running its code: jit.c knows, per thread, the epoch at
 * which it entered generated code; a thread that entered after the retirement cannot reach old code (every
 * block of it was invalidated and unchained first). Threads that are still in old code are asked to come
 * back to the loop (exit_request), and the allocating thread waits for them.
 */
static pthread_mutex_t jit_buf_lock = PTHREAD_MUTEX_INITIALIZER;

void jit_buf_fork_lock(bool lock)
{
    (lock ? pthread_mutex_lock : pthread_mutex_unlock)(&jit_buf_lock);
}
static uint8_t *jit_region;                 /* the reservation; the trampoline is its first bytes */
static uint8_t *jit_slice_start, *jit_slice_end, *jit_next;
static size_t jit_slice_size = JIT_SLICE_DEFAULT;
static unsigned jit_nslices;                /* slices in the ring */
static unsigned jit_slice_max;              /* 0: as many as fit in the reservation */
static unsigned jit_cur_slice;
static uint64_t *jit_slice_retired;         /* per slice: the epoch it was retired at, 0: never used */
static bool *jit_slice_resident;            /* per slice: its pages may hold memory (written since released) */
uint8_t *jit_prologue, *jit_epilogue;
unsigned long jit_buf_flushes;

/*
 * The block map: for each 64-byte granule of the reservation, the offset of the first committed block
 * that covers any of it (0: none). A fault in generated code finds its block from the host pc through
 * it (jit_block_at): one lookup and a short walk over the blocks that start later in the granule. Pages
 * of the map are touched only where code is, one byte of map per 16 bytes of code.
 */
#define JIT_MAP_SHIFT 6
static uint32_t *jit_block_map;
static uint8_t *jit_reserved;               /* the start of the block being emitted */

static void jit_map_clear(uint8_t *from, uint8_t *to)
{
    uint32_t *lo = jit_block_map + ((size_t)(from - jit_region) >> JIT_MAP_SHIFT);
    uint32_t *hi = jit_block_map + ((size_t)(to - jit_region) >> JIT_MAP_SHIFT);
    uintptr_t page_lo = ((uintptr_t)lo + 4095) & ~(uintptr_t)4095, page_hi = (uintptr_t)hi & ~(uintptr_t)4095;
    if (page_lo < page_hi) {
        /* Give the pages back rather than write zeros over them (anonymous: they read as zero again). */
        memset(lo, 0, page_lo - (uintptr_t)lo);
        madvise((void *)page_lo, page_hi - page_lo, MADV_DONTNEED);
        memset((void *)page_hi, 0, (uintptr_t)hi - page_hi);
    } else {
        memset(lo, 0, (size_t)(hi - lo) * sizeof(*lo));
    }
}

static void jit_map_add(uint8_t *start, uint8_t *end)
{
    size_t g0 = (size_t)(start - jit_region) >> JIT_MAP_SHIFT, g1 = (size_t)(end - 1 - jit_region) >> JIT_MAP_SHIFT;
    for (size_t g = g0; g <= g1; g++) {
        if (!jit_block_map[g]) {
            __atomic_store_n(&jit_block_map[g], (uint32_t)(start - jit_region), __ATOMIC_RELEASE);
        }
    }
}

const JitBlock *jit_block_at(uintptr_t pc)
{
    uint8_t *p = (uint8_t *)pc;
    if (!jit_block_map || p < jit_region + JIT_TRAMPOLINE_BYTES || p >= jit_region + JIT_RESERVATION) {
        return NULL;
    }
    uint32_t off = __atomic_load_n(&jit_block_map[(size_t)(p - jit_region) >> JIT_MAP_SHIFT], __ATOMIC_ACQUIRE);
    if (!off) {
        return NULL;
    }
    const uint8_t *h = jit_region + off;
    /* Blocks follow each other, 16-byte aligned; a granule holds only a few of them. */
    for (int steps = 0; steps < 64 && h <= p; steps++) {
        const JitBlock *b = (const JitBlock *)h;
        if (b->bytes < JIT_BLOCK_HDR) {
            return NULL;
        }
        if (p < h + b->bytes) {
            return b;
        }
        h = (const uint8_t *)(((uintptr_t)h + b->bytes + 15) & ~(uintptr_t)15);
    }
    return NULL;
}

/*
 * The trampoline: TCGExit prologue(TCGCPU *cpu, void *entry) saves the callee-saved registers, points rbp
 * at the state and jumps to entry; the epilogue, reached by every exit stub with the TCGExit in rax (the
 * block) and rdx (slot | reason << 32), restores them and returns. With pins, the prologue also loads the
 * pinned guest registers and the epilogue stores them back (stores leave rax and rdx alone).
 */
static void jit_emit_trampoline(JitBuf *b, const JitPins *pins, uint8_t **prologue, uint8_t **epilogue)
{
    static const int saved[] = {JR_RBP, JR_RBX, JR_R12, JR_R13, JR_R14, JR_R15};
    /* Six pushes and the return address leave the stack 8 bytes off; one more slot makes it 16-byte
       aligned for every helper call. */
    *prologue = b->p;
    for (int i = 0; i < 6; i++) {
        JI1(b, PUSH, jit_r(saved[i], 64));
    }
    JI2(b, SUB, jit_r(JR_RSP, 64), jit_i(8));
    JI2(b, MOV, jit_r(JIT_ENV, 64), jit_r(JR_RDI, 64));
    for (int i = 0; pins && i < pins->n; i++) {
        jit_op_rm(b, JOP_MOV_LOAD, pins->reg[i], JIT_ENV, (int32_t)pins->env_offset[i], 64);
    }
    JI1(b, JMP, jit_r(JR_RSI, 64));
    while (((uintptr_t)b->p & 15) != 0) {
        *b->p++ = 0xcc;
    }
    *epilogue = b->p;
    for (int i = 0; pins && i < pins->n; i++) {
        jit_op_rm(b, JOP_MOV_STORE, pins->reg[i], JIT_ENV, (int32_t)pins->env_offset[i], 64);
    }
    JI2(b, ADD, jit_r(JR_RSP, 64), jit_i(8));
    for (int i = 5; i >= 0; i--) {
        JI1(b, POP, jit_r(saved[i], 64));
    }
    JI0(b, RET);
}

JitPins jit_pins;

void jit_pins_prepare(const TCGCPU *cpu)
{
    const TCGTargetOps *target = cpu->target;
    if (cpu->mem || !target || !target->npinned || __atomic_load_n(&jit_pins.owner, __ATOMIC_ACQUIRE)) {
        return;   /* nothing to pin, or done (one pinned layout per process: the first target's) */
    }
    static const int regs[JIT_MAX_PINS] = {JR_R15, JR_R14, JR_R13, JR_R12, JR_RBX, JR_R11};
    jit_pins.n = target->npinned < JIT_MAX_PINS ? target->npinned : JIT_MAX_PINS;
    for (int i = 0; i < jit_pins.n; i++) {
        jit_pins.reg[i] = regs[i];
        jit_pins.env_offset[i] = target->pinned[i];
    }
    JitBuf b = {.start = jit_region + JIT_PINNED_TRAMPOLINE_AT, .p = jit_region + JIT_PINNED_TRAMPOLINE_AT,
                .end = jit_region + JIT_TRAMPOLINE_BYTES};
    jit_emit_trampoline(&b, &jit_pins, &jit_pins.prologue, &jit_pins.epilogue);
    if (!b.overflow && !b.error) {
        __atomic_store_n(&jit_pins.owner, target, __ATOMIC_RELEASE);
    }
}

const JitPins *jit_pins_for(const TCGCPU *cpu)
{
    /* System mode keeps every guest register in the state: its soft-MMU paths expect that. */
    if (cpu->mem || !cpu->target || __atomic_load_n(&jit_pins.owner, __ATOMIC_ACQUIRE) != cpu->target) {
        return NULL;
    }
    return &jit_pins;
}

/* Point the ring at slice i (called with the lock held). */
static uint8_t *jit_slice_base(unsigned i)
{
    return jit_region + JIT_TRAMPOLINE_BYTES + (size_t)i * jit_slice_size;
}

/*
 * The pages of the current slice are faulted in ahead of the code, a chunk per system call
 * (MADV_POPULATE_WRITE, Linux 5.14), instead of one page fault per 4 KB as the code reaches them: a
 * translation-heavy start-up fills thousands of pages (python's, 11 MB), each fault a kernel entry (about
 * 0.4 us on the machines this was measured on: `python3 -c pass` 1% faster). At most one chunk is
 * populated and never used.
 */
#define JIT_POPULATE_CHUNK (256u << 10)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static uint8_t *jit_populated_end;   /* within the current slice, the pages before this are resident */
static bool jit_populate_unsupported;

static void jit_populate_ahead(const uint8_t *need_end)
{
    if (jit_populate_unsupported || need_end <= jit_populated_end) {
        return;
    }
    uint8_t *lo = (uint8_t *)(((uintptr_t)jit_populated_end + 4095) & ~(uintptr_t)4095);
    uint8_t *hi = (uint8_t *)(((uintptr_t)need_end + JIT_POPULATE_CHUNK) & ~(uintptr_t)4095);
    if (hi > jit_slice_end) {
        hi = (uint8_t *)((uintptr_t)jit_slice_end & ~(uintptr_t)4095);
    }
    if (lo < hi && madvise(lo, (size_t)(hi - lo), MADV_POPULATE_WRITE) != 0 && errno == EINVAL) {
        jit_populate_unsupported = true;   /* an older kernel: pages fault in one by one as before */
    }
    jit_populated_end = hi;
}

static void jit_slice_enter(unsigned i)
{
    jit_cur_slice = i;
    jit_slice_start = jit_slice_base(i);
    jit_slice_end = jit_slice_start + jit_slice_size;
    jit_next = jit_slice_start;
    jit_populated_end = jit_slice_start;
    jit_slice_resident[i] = true;
    jit_map_clear(jit_slice_start, jit_slice_end);
}

/*
 * Give back the pages of retired slices nobody can be running any more (the calling thread included: a
 * helper may run guest code from inside generated code). Without this every slice of the ring would stay
 * resident once written: a guest that keeps generating code (a JIT of its own) would hold the whole
 * reservation, 1 GB. A thread still inside since a slice retired is asked to leave generated code (one
 * spinning in a loop of chained blocks never would), so that the next call can give that slice back.
 * Called with the lock held, after a flush, and now and then until no retired slice is left resident (the
 * result: some still is).
 */
static bool jit_slices_pending;
static unsigned jit_reserves_since_try;

static bool jit_release_idle_slices(void)
{
    bool pending = false;
    for (unsigned i = 0; i < jit_nslices; i++) {
        if (i == jit_cur_slice || !jit_slice_resident[i] || !jit_slice_retired[i]) {
            continue;
        }
        if (!jit_epoch_quiescent(jit_slice_retired[i])) {
            pending = true;
        } else {
            /* Whole pages inside the slice only: the trampoline shares the first slice's first page. */
            uintptr_t lo = ((uintptr_t)jit_slice_base(i) + 4095) & ~(uintptr_t)4095;
            uintptr_t hi = ((uintptr_t)jit_slice_base(i) + jit_slice_size) & ~(uintptr_t)4095;
            if (lo < hi) {
                madvise((void *)lo, hi - lo, MADV_DONTNEED);
            }
            jit_map_clear(jit_slice_base(i), jit_slice_base(i) + jit_slice_size);
            jit_slice_resident[i] = false;
        }
    }
    return pending;
}

/* Size the ring for the current slice size (called with the lock held). */
static bool jit_ring_init(void)
{
    size_t fit = (JIT_RESERVATION - JIT_TRAMPOLINE_BYTES) / jit_slice_size;
    unsigned n = fit > 4096 ? 4096 : (unsigned)fit;
    if (jit_slice_max && jit_slice_max < n) {
        n = jit_slice_max;
    }
    if (n < 2) {
        return false;
    }
    uint64_t *retired = calloc(n, sizeof(*retired));
    bool *resident = calloc(n, sizeof(*resident));
    if (!retired || !resident) {
        free(retired);
        free(resident);
        return false;
    }
    free(jit_slice_retired);
    free(jit_slice_resident);
    jit_slice_retired = retired;
    jit_slice_resident = resident;
    jit_nslices = n;
    jit_map_clear(jit_region + JIT_TRAMPOLINE_BYTES, jit_region + JIT_RESERVATION);   /* a new layout */
    jit_slice_enter(0);
    return true;
}

/* Tests: EMBER_JIT_SLICE (bytes) and EMBER_JIT_SLICES (ring length) make the buffer small. */
static void jit_buf_env_config(void)
{
    const char *e = getenv("EMBER_JIT_SLICE");
    if (e && *e) {
        unsigned long long v = strtoull(e, NULL, 0);
        if (v >= 4096 && v <= JIT_RESERVATION / 2) {
            jit_slice_size = (size_t)v;
        }
    }
    e = getenv("EMBER_JIT_SLICES");
    if (e && *e) {
        unsigned long v = strtoul(e, NULL, 0);
        if (v >= 2 && v <= 4096) {
            jit_slice_max = (unsigned)v;
        }
    }
}

/* Called with jit_buf_lock held. */
static bool jit_buf_init_locked(void)
{
    if (jit_region) {
        return true;
    }
    jit_buf_env_config();
    void *p = mmap(NULL, JIT_RESERVATION, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        return false;
    }
    size_t map_bytes = (JIT_RESERVATION >> JIT_MAP_SHIFT) * sizeof(uint32_t);
    void *map = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED) {
        munmap(p, JIT_RESERVATION);
        return false;
    }
    jit_block_map = map;
    jit_region = p;
    JitBuf b = {.start = jit_region, .p = jit_region, .end = jit_region + JIT_TRAMPOLINE_BYTES};
    jit_emit_trampoline(&b, NULL, &jit_prologue, &jit_epilogue);
    if (b.overflow || b.error || !jit_ring_init()) {
        munmap(p, JIT_RESERVATION);
        munmap(map, map_bytes);
        jit_block_map = NULL;
        jit_region = NULL;
        return false;
    }
    return true;
}

bool jit_buf_init(void)
{
    pthread_mutex_lock(&jit_buf_lock);
    bool ok = jit_buf_init_locked();
    pthread_mutex_unlock(&jit_buf_lock);
    return ok;
}

void jit_buf_set_slice_size(size_t bytes)
{
    jit_buf_set_geometry(bytes, 0);
}

void jit_buf_set_geometry(size_t slice_bytes, unsigned nslices)
{
    pthread_mutex_lock(&jit_buf_lock);
    bool was = jit_region != NULL;
    if (was) {
        /* Drop everything first: the ring's layout changes under the old blocks. Every thread must be
           out of generated code (tests call this between runs). */
        tb_flush_all();
    }
    jit_slice_size = slice_bytes ? slice_bytes : JIT_SLICE_DEFAULT;
    jit_slice_max = nslices;
    if (was && !jit_ring_init()) {
        jit_slice_size = JIT_SLICE_DEFAULT;
        jit_slice_max = 0;
        jit_ring_init();
    }
    pthread_mutex_unlock(&jit_buf_lock);
}

/*
 * Room for up to max_bytes of code, 16-byte aligned. Takes the buffer lock, which jit_buf_commit releases,
 * so one thread at a time emits. NULL (lock released) when the request can never fit.
 */
uint8_t *jit_buf_reserve(size_t max_bytes, bool *flushed)
{
    *flushed = false;
    pthread_mutex_lock(&jit_buf_lock);
    if (!jit_buf_init_locked()) {
        pthread_mutex_unlock(&jit_buf_lock);
        return NULL;
    }
    uint8_t *p = (uint8_t *)(((uintptr_t)jit_next + 15) & ~(uintptr_t)15);
    if (p + max_bytes > jit_slice_end) {
        if (max_bytes > jit_slice_size) {
            pthread_mutex_unlock(&jit_buf_lock);
            return NULL;
        }
        /* Full: drop every block so nothing old is chained to or looked up, retire this slice... */
        tb_flush_all();
        jit_slice_retired[jit_cur_slice] = jit_epoch_advance();
        jit_buf_flushes++;
        *flushed = true;
        /* ...and move to the next one, once nobody can be running what it held. */
        unsigned next = (jit_cur_slice + 1) % jit_nslices;
        if (jit_slice_retired[next]) {
            jit_epoch_wait_quiescent(jit_slice_retired[next]);
        }
        jit_slice_enter(next);
        jit_slices_pending = jit_release_idle_slices();
        p = jit_slice_start;
    } else if (jit_slices_pending && ++jit_reserves_since_try % 256 == 0) {
        jit_slices_pending = jit_release_idle_slices();
    }
    jit_populate_ahead(p + max_bytes);
    jit_reserved = p;
    return p;
}

void jit_buf_commit(uint8_t *end)
{
    if (end) {
        jit_next = end;
        jit_map_add(jit_reserved, end);
    }
    pthread_mutex_unlock(&jit_buf_lock);
}
