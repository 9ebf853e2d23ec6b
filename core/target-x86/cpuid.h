/*
 * The CPU model: what CPUID answers. A model is a set of advertised features (features.h) plus the
 * identification leaves. Models are built once, from what the translator implements and what the host has
 * (vector and x87 instructions run on the host's own units, so a feature the host lacks is never
 * advertised), and are read-only after that.
 *
 *   "max"        everything implemented that the host has (the default)
 *   "x86-64-v1"  the x86-64 psABI baseline levels, each cut down to what "max" has
 *   "x86-64-v2"
 *   "x86-64-v3"
 */
#ifndef EMBER_X86_CPUID_H
#define EMBER_X86_CPUID_H

#include <stdbool.h>
#include <stdint.h>

#include "core/target-x86/translate.h"

/* XCR0 / XSAVE state components we implement. */
#define X86_XSTATE_X87 (1ULL << 0)
#define X86_XSTATE_SSE (1ULL << 1)
#define X86_XSTATE_AVX (1ULL << 2)
/* XSAVE layout: legacy region, header, then the AVX (upper YMM halves) component. */
#define X86_XSAVE_HEADER_OFFSET 512
#define X86_XSAVE_AVX_OFFSET 576
#define X86_XSAVE_AVX_SIZE 256

typedef struct X86CPUModel {
    const char *name;
    bool has[X86_FEAT_COUNT];     /* advertised features */
    uint64_t xcr0_mask;           /* state components XCR0 may hold (x87|SSE, plus AVX when advertised) */
    uint32_t max_leaf, max_xleaf;
    uint32_t vendor[3];           /* EBX, EDX, ECX of leaf 0 */
    uint32_t leaf1_eax, leaf1_ebx;
    uint32_t brand[12];           /* leaves 0x80000002..4 */
    uint32_t addr_sizes;          /* leaf 0x80000008 EAX */
} X86CPUModel;

/* The model called `name`, or NULL for an unknown name. NULL name: the default ("max"). */
const X86CPUModel *x86_cpu_model_find(const char *name);
/* Every model name, NULL-terminated (for -cpu help). */
const char *const *x86_cpu_model_names(void);

/* CPUID leaf/subleaf as this model answers it: out[0..3] = EAX, EBX, ECX, EDX. */
void x86_cpuid(const X86CPUModel *model, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/*
 * Is the CPU an Intel one? Every model answers CPUID with the host's vendor, so where Intel and AMD
 * hardware differ (results the manuals leave undefined, fault details) the translator follows the host's
 * vendor: a guest then sees what the vendor it is told about does, and the tests' oracle is the host.
 */
bool x86_vendor_intel(void);

/* Does the host CPU (and its OS, for AVX state) support feature f? */
bool x86_host_has_feature(X86Feature f);

/* XCR0 as the guest sees it: env->xcr0 cut down to what env's model supports. */
uint64_t x86_guest_xcr0(const CPUX86State *env);

/* The size of the XSAVE image for the state components in `xcr0`. */
uint32_t x86_xsave_size(uint64_t xcr0);

/*
 * Architectural memory images of the x87/SSE/AVX state (xsave.c), for the instructions and for signal
 * frames. The FXSAVE image is the 64-bit (FXSAVE64) format. `rfbm` is the requested-feature bitmap
 * (already ANDed with XCR0). The restore functions return 0, or -EINVAL for an image the hardware would
 * refuse with #GP (reserved MXCSR bits, bad XSAVE header); nothing is changed then.
 */
void x86_fxsave_image(CPUX86State *env, void *dst512);
int x86_fxrstor_image(CPUX86State *env, const void *src512);
void x86_xsave_image(CPUX86State *env, void *dst, uint64_t rfbm);
int x86_xrstor_image(CPUX86State *env, const void *src, uint64_t rfbm);

/* The instruction forms helper_xsave_op performs. */
typedef enum X86XsaveOp {
    X86_XOP_FXSAVE, X86_XOP_FXRSTOR, X86_XOP_XSAVE, X86_XOP_XSAVEC, X86_XOP_XSAVEOPT, X86_XOP_XRSTOR,
    X86_XOP_REXW = 0x100,   /* the 64-bit forms (FXSAVE64...): 64-bit FIP/FDP in the x87 area */
} X86XsaveOp;

/* MXCSR bits LDMXCSR/FXRSTOR/XRSTOR accept: the host's MXCSR_MASK, since guest MXCSR values are loaded
   into the host's MXCSR as they are (0xffff on Intel; AMD adds bit 17, MM). */
uint32_t x86_mxcsr_mask(void);

#endif
