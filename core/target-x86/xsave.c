/*
 * FXSAVE/FXRSTOR and XSAVE/XSAVEC/XSAVEOPT/XRSTOR: the architectural memory images of the x87, SSE and AVX
 * state (Intel SDM vol. 1, 10.5 and 13.4-13.8), built from env->fx and env->ymm[]. The image functions are
 * shared with the signal-frame code; helper_xsave_op adds the instructions' alignment checks and formats.
 *
 * XINUSE (which components are not in their initial configuration) is computed from the values, so
 * XSAVEC leaves out components that are in their initial state, as the hardware may.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/sys.h"
#include "core/target-x86/helpers.h"

#define FX_XMM_OFFSET 160
#define FX_MXCSR_OFFSET 24
#define FX_X87_END 160           /* bytes 0..159: x87 registers (and MXCSR at 24..31) */
#define X87_FCW_LOADED 0x1f3f    /* FCW bits an image or FLDCW sets (host-verified) */
#define X87_FCW_ONE 0x0040       /* FCW bit 6: reserved, always 1 */
#define FX_WRITTEN_END 416       /* the processor writes bytes 0..415; 464..511 belong to software */
#define XSAVE_COMPACT (1ULL << 63)

static uint32_t host_mxcsr_mask;
static pthread_once_t host_mxcsr_mask_once = PTHREAD_ONCE_INIT;

static void host_mxcsr_mask_init(void)
{
    X86FxArea img;
    memset(&img, 0, sizeof(img));
    __asm__ volatile("fxsave64 %0" : "=m"(img));
    /* A zero mask means the default, which has no DAZ (Intel SDM vol. 1, 11.6.6). */
    host_mxcsr_mask = img.mxcsr_mask ? img.mxcsr_mask : 0xffbf;
}

uint32_t x86_mxcsr_mask(void)
{
    pthread_once(&host_mxcsr_mask_once, host_mxcsr_mask_init);
    return host_mxcsr_mask;
}

static void fx_write_x87(const CPUX86State *env, uint8_t *img)
{
    /* bytes 0..23 then the ST registers at 32..159; MXCSR (24..31) is its own component's */
    memcpy(img, &env->fx, FX_MXCSR_OFFSET);
    memcpy(img + 32, env->fx.st, sizeof(env->fx.st));
}

static void fx_write_mxcsr(const CPUX86State *env, uint8_t *img)
{
    uint32_t v[2] = {env->fx.mxcsr, x86_mxcsr_mask()};
    memcpy(img + FX_MXCSR_OFFSET, v, 8);
}

static void fx_write_xmm(const CPUX86State *env, uint8_t *img)
{
    for (int i = 0; i < 16; i++) {
        memcpy(img + FX_XMM_OFFSET + 16 * i, env->ymm[i].b, 16);
    }
}

static void fx_read_x87(CPUX86State *env, const uint8_t *img)
{
    memcpy(&env->fx, img, FX_MXCSR_OFFSET);
    memcpy(env->fx.st, img + 32, sizeof(env->fx.st));
    /* As the hardware loads FCW (FLDCW, FLDENV and FRSTOR alike): bit 6 reads as 1, bits 7 and 13-15
       as 0, whatever the image holds. */
    env->fx.fcw = (uint16_t)((env->fx.fcw & X87_FCW_LOADED) | X87_FCW_ONE);
}

static void fx_read_xmm(CPUX86State *env, const uint8_t *img)
{
    for (int i = 0; i < 16; i++) {
        memcpy(env->ymm[i].b, img + FX_XMM_OFFSET + 16 * i, 16);
    }
}

static void x87_init_state(CPUX86State *env)
{
    uint32_t mxcsr = env->fx.mxcsr, mask = env->fx.mxcsr_mask;
    memset(&env->fx, 0, FX_X87_END);
    env->fx.fcw = 0x37f;
    env->fx.mxcsr = mxcsr;
    env->fx.mxcsr_mask = mask;
}

void x86_fxsave_image(CPUX86State *env, void *dst512)
{
    uint8_t *img = dst512;
    memset(img, 0, FX_WRITTEN_END);
    fx_write_x87(env, img);
    fx_write_mxcsr(env, img);
    fx_write_xmm(env, img);
}

int x86_fxrstor_image(CPUX86State *env, const void *src512)
{
    const uint8_t *img = src512;
    uint32_t mxcsr;
    memcpy(&mxcsr, img + FX_MXCSR_OFFSET, 4);
    if (mxcsr & ~x86_mxcsr_mask()) {
        return -EINVAL;
    }
    fx_read_x87(env, img);
    env->fx.mxcsr = mxcsr;
    fx_read_xmm(env, img);
    return 0;
}

/* Which components are not in their initial configuration. */
static uint64_t xinuse(const CPUX86State *env)
{
    uint64_t in_use = 0;
    static const uint8_t zero[128];
    const X86FxArea *fx = &env->fx;
    if (fx->fcw != 0x37f || fx->fsw != 0 || fx->ftw != 0 || fx->fop != 0 || fx->fip != 0 || fx->fdp != 0 ||
        memcmp(fx->st, zero, sizeof(fx->st)) != 0) {
        in_use |= X86_XSTATE_X87;
    }
    /* SSE's initial configuration is all XMM registers zero and MXCSR at its reset value. */
    if (env->fx.mxcsr != 0x1f80) {
        in_use |= X86_XSTATE_SSE;
    }
    for (int i = 0; i < 16; i++) {
        if (env->ymm[i].q[0] | env->ymm[i].q[1]) {
            in_use |= X86_XSTATE_SSE;
        }
        if (env->ymm[i].q[2] | env->ymm[i].q[3]) {
            in_use |= X86_XSTATE_AVX;
        }
    }
    return in_use;
}

static void write_avx(const CPUX86State *env, uint8_t *img)
{
    for (int i = 0; i < 16; i++) {
        memcpy(img + X86_XSAVE_AVX_OFFSET + 16 * i, &env->ymm[i].b[16], 16);
    }
}

/* Standard-format XSAVE (also what XSAVEOPT does here). */
void x86_xsave_image(CPUX86State *env, void *dst, uint64_t rfbm)
{
    uint8_t *img = dst;
    if (rfbm & X86_XSTATE_X87) {
        fx_write_x87(env, img);
    }
    if (rfbm & (X86_XSTATE_SSE | X86_XSTATE_AVX)) {
        fx_write_mxcsr(env, img);
    }
    if (rfbm & X86_XSTATE_SSE) {
        fx_write_xmm(env, img);
    }
    if (rfbm & X86_XSTATE_AVX) {
        write_avx(env, img);
    }
    uint64_t bv;
    memcpy(&bv, img + X86_XSAVE_HEADER_OFFSET, 8);
    bv = (bv & ~rfbm) | (rfbm & xinuse(env));
    memcpy(img + X86_XSAVE_HEADER_OFFSET, &bv, 8);
}

/* Compacted-format XSAVEC: components in their initial state are left out (XSTATE_BV says so). */
static void xsavec_image(CPUX86State *env, uint8_t *img, uint64_t rfbm)
{
    uint64_t bv = rfbm & xinuse(env);
    uint64_t hdr[2] = {bv, rfbm | XSAVE_COMPACT};
    if (bv & X86_XSTATE_X87) {
        fx_write_x87(env, img);
    }
    /* In the compacted form MXCSR belongs to the SSE component alone. */
    if (bv & X86_XSTATE_SSE) {
        fx_write_mxcsr(env, img);
        fx_write_xmm(env, img);
    }
    if (bv & X86_XSTATE_AVX) {
        write_avx(env, img);   /* AVX is the first extended component: offset 576 in both formats */
    }
    memcpy(img + X86_XSAVE_HEADER_OFFSET, hdr, sizeof(hdr));
}

int x86_xrstor_image(CPUX86State *env, const void *src, uint64_t rfbm)
{
    const uint8_t *img = src;
    uint64_t hdr[8];
    memcpy(hdr, img + X86_XSAVE_HEADER_OFFSET, sizeof(hdr));
    uint64_t bv = hdr[0], comp = hdr[1];
    uint64_t xcr0 = x86_guest_xcr0(env);
    bool compact = (comp & XSAVE_COMPACT) != 0;

    /* Every check before any change: a refused image leaves the state alone. */
    if (bv & ~xcr0) {
        return -EINVAL;
    }
    if (compact) {
        if ((comp & ~XSAVE_COMPACT & ~xcr0) || (bv & ~comp)) {
            return -EINVAL;
        }
        for (int i = 2; i < 8; i++) {
            if (hdr[i]) {
                return -EINVAL;
            }
        }
    } else if (hdr[1] || hdr[2]) {
        return -EINVAL;
    }
    uint32_t mxcsr = env->fx.mxcsr;
    bool load_mxcsr = compact ? (rfbm & bv & X86_XSTATE_SSE) != 0 : (rfbm & (X86_XSTATE_SSE | X86_XSTATE_AVX)) != 0;
    if (load_mxcsr) {
        memcpy(&mxcsr, img + FX_MXCSR_OFFSET, 4);
        if (mxcsr & ~x86_mxcsr_mask()) {
            return -EINVAL;
        }
    } else if (compact && (rfbm & X86_XSTATE_SSE)) {
        mxcsr = 0x1f80;   /* compacted form: SSE in its initial state includes MXCSR */
    }

    if (rfbm & X86_XSTATE_X87) {
        if (bv & X86_XSTATE_X87) {
            fx_read_x87(env, img);
        } else {
            x87_init_state(env);
        }
    }
    env->fx.mxcsr = mxcsr;
    if (rfbm & X86_XSTATE_SSE) {
        if (bv & X86_XSTATE_SSE) {
            fx_read_xmm(env, img);
        } else {
            for (int i = 0; i < 16; i++) {
                env->ymm[i].q[0] = env->ymm[i].q[1] = 0;
            }
        }
    }
    if (rfbm & X86_XSTATE_AVX) {
        for (int i = 0; i < 16; i++) {
            if (bv & X86_XSTATE_AVX) {
                memcpy(&env->ymm[i].b[16], img + X86_XSAVE_AVX_OFFSET + 16 * i, 16);
            } else {
                env->ymm[i].q[2] = env->ymm[i].q[3] = 0;
            }
        }
    }
    return 0;
}

/*
 * Without REX.W the x87 area uses the 32-bit layout: FIP[31:0], FCS, FDP[31:0], FDS at 8..23. We store
 * FCS and FDS as zero (the selectors are meaningless to a 64-bit program).
 */
static void fx_to_32bit_format(uint8_t *img, const CPUX86State *env)
{
    uint32_t fip = (uint32_t)env->fx.fip, fdp = (uint32_t)env->fx.fdp;
    memset(img + 8, 0, 16);
    memcpy(img + 8, &fip, 4);
    memcpy(img + 16, &fdp, 4);
}

static void fx_from_32bit_format(uint8_t *img)
{
    uint32_t fip, fdp;
    memcpy(&fip, img + 8, 4);
    memcpy(&fdp, img + 16, 4);
    uint64_t fip64 = fip, fdp64 = fdp;
    memcpy(img + 8, &fip64, 8);
    memcpy(img + 16, &fdp64, 8);
}

static void xsave_op_at(CPUX86State *env, uint64_t addr, uint8_t *mem, uint32_t op);

static uint64_t xsave_op_sys(CPUX86State *env, void *mem, void *opaque)
{
    const uint64_t *args = opaque;
    xsave_op_at(env, args[0], mem, (uint32_t)args[1]);
    return 0;
}

void helper_xsave_op(CPUX86State *env, uint64_t addr, uint32_t op)
{
    x86_mxcsr_fold(env);   /* a save stores the flags inline code raised; a restore replaces them */
    if (env->sys) {
        /* System mode: addr is guest-virtual; the image goes through the soft-MMU (sys-mmu.c). */
        bool fx = (op & 0xff) <= X86_XOP_FXRSTOR;
        bool restore = (op & 0xff) == X86_XOP_FXRSTOR || (op & 0xff) == X86_XOP_XRSTOR;
        uint32_t size = fx ? 512 : x86_xsave_size(x86_guest_xcr0(env));
        uint64_t args[2] = {addr, op};
        x86_sys_with_mem(env, addr, size, true, !restore, xsave_op_sys, args);
        return;
    }
    xsave_op_at(env, addr, (uint8_t *)(uintptr_t)addr, op);
}

static void xsave_op_at(CPUX86State *env, uint64_t addr, uint8_t *mem, uint32_t op)
{
    bool rexw = (op & X86_XOP_REXW) != 0;
    uint64_t xcr0 = x86_guest_xcr0(env);
    uint64_t rfbm = (((uint64_t)(uint32_t)env->regs[R_EDX] << 32) | (uint32_t)env->regs[R_EAX]) & xcr0;
    unsigned align = (op & 0xff) <= X86_XOP_FXRSTOR ? 16 : 64;
    if (addr & (align - 1)) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    switch (op & 0xff) {
    case X86_XOP_FXSAVE: {
        uint8_t img[512];
        x86_fxsave_image(env, img);
        if (!rexw) {
            fx_to_32bit_format(img, env);
        }
        memcpy(mem, img, FX_WRITTEN_END);
        break;
    }
    case X86_XOP_FXRSTOR: {
        uint8_t img[512];
        memcpy(img, mem, sizeof(img));
        if (!rexw) {
            fx_from_32bit_format(img);
        }
        if (x86_fxrstor_image(env, img) < 0) {
            x86_raise_exception(env, EXCP_GP, 0, 0);
        }
        break;
    }
    case X86_XOP_XSAVE:
    case X86_XOP_XSAVEOPT:
    case X86_XOP_XSAVEC: {
        /* Touch the whole area first, so a fault leaves nothing half-written behind. */
        uint32_t size = x86_xsave_size(xcr0);
        volatile uint8_t *v = mem;
        for (uint32_t i = 0; i < size; i += 64) {
            v[i] = v[i];
        }
        if ((op & 0xff) == X86_XOP_XSAVEC) {
            xsavec_image(env, mem, rfbm);
        } else {
            x86_xsave_image(env, mem, rfbm);
        }
        if (!rexw && (rfbm & X86_XSTATE_X87)) {
            fx_to_32bit_format(mem, env);
        }
        break;
    }
    case X86_XOP_XRSTOR: {
        uint8_t img[X86_XSAVE_AVX_OFFSET + X86_XSAVE_AVX_SIZE] = {0};
        memcpy(img, mem, x86_xsave_size(xcr0));
        if (!rexw) {
            fx_from_32bit_format(img);
        }
        if (x86_xrstor_image(env, img, rfbm) < 0) {
            x86_raise_exception(env, EXCP_GP, 0, 0);
        }
        break;
    }
    default:
        x86_raise_exception(env, EXCP_UD, 0, 0);
    }
}
