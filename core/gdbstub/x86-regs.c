/* gdb's x86-64 register numbers mapped onto CPUX86State (see x86-tdesc.c for the numbering). */
#include <string.h>

#include "core/gdbstub/rsp.h"
#include "core/gdbstub/x86-regs.h"

/* gdb orders the general registers rax rbx rcx rdx rsi rdi rbp rsp r8..r15; ember by encoding. */
static const int gdb_x86_gpr[16] = {
    R_EAX, R_EBX, R_ECX, R_EDX, R_ESI, R_EDI, R_EBP, R_ESP, R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};
/* ... and the segment registers cs ss ds es fs gs. */
static const int gdb_x86_seg[6] = {R_CS, R_SS, R_DS, R_ES, R_FS, R_GS};

/* The RFLAGS bits a debugger may change (arithmetic flags and DF, AC, ID; never TF or IF). */
#define GDB_X86_EFLAGS_WRITABLE (X86_ARITH_FLAGS | X86_DF | X86_AC | X86_ID)

/*
 * FXSAVE keeps an abridged tag (one bit per physical register: valid or empty); gdb shows the full x87 tag
 * word, two bits per physical register: 0 valid, 1 zero, 2 special, 3 empty. The class comes from the value.
 */
static unsigned x87_tag_of(const uint8_t *st)
{
    uint16_t exp = (uint16_t)((st[8] | st[9] << 8) & 0x7fff);
    uint64_t mant;
    memcpy(&mant, st, 8);
    if (exp == 0x7fff) {
        return 2;
    }
    if (exp == 0) {
        return mant == 0 ? 1 : 2;
    }
    return (mant >> 63) ? 0 : 2;
}

static uint16_t x87_full_tag(const X86FxArea *fx)
{
    unsigned top = (fx->fsw >> 11) & 7;
    uint16_t tag = 0;
    for (unsigned phys = 0; phys < 8; phys++) {
        unsigned t = 3;
        if (fx->ftw & (1u << phys)) {
            t = x87_tag_of(fx->st[(phys - top) & 7]);   /* physical register phys is ST((phys - top) mod 8) */
        }
        tag |= (uint16_t)(t << (2 * phys));
    }
    return tag;
}

static void put32(uint8_t *buf, uint32_t v) { memcpy(buf, &v, 4); }
static void put64(uint8_t *buf, uint64_t v) { memcpy(buf, &v, 8); }

int gdb_x86_read_reg(const CPUX86State *env, int regno, uint8_t *buf)
{
    const X86FxArea *fx = &env->fx;
    if (regno >= 0 && regno < 16) {
        put64(buf, env->regs[gdb_x86_gpr[regno]]);
        return 8;
    }
    if (regno >= GDB_X86_CS && regno < GDB_X86_CS + 6) {
        put32(buf, env->seg_sel[gdb_x86_seg[regno - GDB_X86_CS]]);
        return 4;
    }
    if (regno >= GDB_X86_ST0 && regno < GDB_X86_ST0 + 8) {
        memcpy(buf, fx->st[regno - GDB_X86_ST0], 10);   /* FXSAVE stores them in stack order, ST0 first */
        return 10;
    }
    if (regno >= GDB_X86_XMM0 && regno < GDB_X86_XMM0 + 16) {
        memcpy(buf, env->ymm[regno - GDB_X86_XMM0].b, 16);
        return 16;
    }
    if (regno >= GDB_X86_YMM0H && regno < GDB_X86_YMM0H + 16) {
        memcpy(buf, env->ymm[regno - GDB_X86_YMM0H].b + 16, 16);
        return 16;
    }
    switch (regno) {
    case GDB_X86_RIP: put64(buf, env->tcg.pc); return 8;
    case GDB_X86_EFLAGS: put32(buf, (uint32_t)x86_get_eflags(env)); return 4;
    case GDB_X86_FCTRL: put32(buf, fx->fcw); return 4;
    case GDB_X86_FCTRL + 1: put32(buf, fx->fsw); return 4;
    case GDB_X86_FCTRL + 2: put32(buf, x87_full_tag(fx)); return 4;
    case GDB_X86_FCTRL + 3: put32(buf, 0); return 4;                     /* fiseg: 64-bit FXSAVE has none */
    case GDB_X86_FCTRL + 4: put32(buf, (uint32_t)fx->fip); return 4;
    case GDB_X86_FCTRL + 5: put32(buf, 0); return 4;                     /* foseg */
    case GDB_X86_FCTRL + 6: put32(buf, (uint32_t)fx->fdp); return 4;
    case GDB_X86_FOP: put32(buf, fx->fop); return 4;
    case GDB_X86_MXCSR: put32(buf, fx->mxcsr); return 4;
    case GDB_X86_ORIG_RAX: put64(buf, (uint64_t)-1); return 8;           /* never inside a syscall when stopped */
    case GDB_X86_FS_BASE: put64(buf, env->seg_base[R_FS]); return 8;
    case GDB_X86_GS_BASE: put64(buf, env->seg_base[R_GS]); return 8;
    default: return -1;
    }
}

int gdb_x86_write_reg(CPUX86State *env, int regno, const uint8_t *buf, int len)
{
    uint8_t cur[16];
    int size = gdb_x86_read_reg(env, regno, cur);
    if (size < 0 || len != size) {
        return -1;
    }
    X86FxArea *fx = &env->fx;
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    memcpy(&v64, buf, size < 8 ? (size_t)size : 8);
    memcpy(&v32, buf, 4);
    if (regno >= 0 && regno < 16) {
        env->regs[gdb_x86_gpr[regno]] = v64;
    } else if (regno >= GDB_X86_CS && regno < GDB_X86_CS + 6) {
        env->seg_sel[gdb_x86_seg[regno - GDB_X86_CS]] = (uint16_t)v32;
    } else if (regno >= GDB_X86_ST0 && regno < GDB_X86_ST0 + 8) {
        memcpy(fx->st[regno - GDB_X86_ST0], buf, 10);
    } else if (regno >= GDB_X86_XMM0 && regno < GDB_X86_XMM0 + 16) {
        memcpy(env->ymm[regno - GDB_X86_XMM0].b, buf, 16);
    } else if (regno >= GDB_X86_YMM0H && regno < GDB_X86_YMM0H + 16) {
        memcpy(env->ymm[regno - GDB_X86_YMM0H].b + 16, buf, 16);
    } else {
        switch (regno) {
        case GDB_X86_RIP: env->tcg.pc = v64; break;
        case GDB_X86_EFLAGS: x86_set_eflags(env, v32, GDB_X86_EFLAGS_WRITABLE); break;
        case GDB_X86_FCTRL: fx->fcw = (uint16_t)v32; break;
        case GDB_X86_FCTRL + 1: fx->fsw = (uint16_t)v32; break;
        case GDB_X86_FCTRL + 2: {
            uint8_t abridged = 0;
            for (unsigned phys = 0; phys < 8; phys++) {
                if (((v32 >> (2 * phys)) & 3) != 3) {
                    abridged |= (uint8_t)(1u << phys);
                }
            }
            fx->ftw = abridged;
            break;
        }
        case GDB_X86_FCTRL + 4: fx->fip = v32; break;
        case GDB_X86_FCTRL + 6: fx->fdp = v32; break;
        case GDB_X86_FOP: fx->fop = (uint16_t)v32; break;
        case GDB_X86_MXCSR: fx->mxcsr = v32; break;
        case GDB_X86_FS_BASE: env->seg_base[R_FS] = v64; break;
        case GDB_X86_GS_BASE: env->seg_base[R_GS] = v64; break;
        default: break;   /* fiseg, foseg, orig_rax: accepted and ignored */
        }
    }
    return 0;
}
