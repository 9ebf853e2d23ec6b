/*
 * The CPU models and CPUID. Every advertised feature bit comes from one row of features.h; a feature is
 * advertised when the translator implements it (some table row needs it), the host has it (vector and x87
 * instructions run on the host's units), and the model's level includes it.
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/target-x86/cpuid.h"

typedef struct X86FeatureBit {
    uint32_t leaf, subleaf;
    uint8_t reg, bit;
} X86FeatureBit;

static const X86FeatureBit x86_feature_bits[X86_FEAT_COUNT] = {
#define FEATURE(name, leaf, sub, reg, bit) [X86_FEAT_##name] = {leaf, sub, reg, bit},
#include "core/target-x86/features.h"
#undef FEATURE
};

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    __cpuid_count(leaf, sub, out[0], out[1], out[2], out[3]);
}

/*
 * The leaves the CPU models are built from, each asked once: building them asks about every feature, a
 * few leaves over and over, and in a virtual machine each CPUID traps (about a microsecond here, some 150
 * of them: 2% of a static program's whole run).
 */
static void host_cpuid_once(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static struct {
        uint32_t leaf, sub, out[4];
    } seen[32];
    static int nseen;
    pthread_mutex_lock(&lock);
    int i = 0;
    while (i < nseen && !(seen[i].leaf == leaf && seen[i].sub == sub)) {
        i++;
    }
    if (i < nseen) {
        memcpy(out, seen[i].out, sizeof(seen[i].out));
    } else {
        host_cpuid(leaf, sub, out);
        if (nseen < (int)(sizeof(seen) / sizeof(seen[0]))) {
            seen[nseen].leaf = leaf;
            seen[nseen].sub = sub;
            memcpy(seen[nseen].out, out, sizeof(seen[nseen].out));
            nseen++;
        }
    }
    pthread_mutex_unlock(&lock);
}

/*
 * The host's cache descriptions (leaves 2, 4 and 0x80000005/6), remembered: in a virtual machine each
 * CPUID instruction traps to the hypervisor (microseconds), and a static glibc's start-up asks dozens of
 * times, in every process (every fork server child in afl mode). They do not change.
 */
#define HOST_CACHE_SUBLEAVES 16

static struct {
    uint32_t ready;   /* 0, then 1 once out is written */
    uint32_t out[4];
} host_cache_leaves[2 + HOST_CACHE_SUBLEAVES + 2];

static void host_cpuid_cached(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    int slot = -1;
    if (leaf == 2) {
        slot = 0;
    } else if (leaf == 4 && sub < HOST_CACHE_SUBLEAVES) {
        slot = 1 + (int)sub;
    } else if (leaf == 0x80000005u || leaf == 0x80000006u) {
        slot = 1 + HOST_CACHE_SUBLEAVES + (int)(leaf - 0x80000005u);
    }
    if (slot < 0) {
        host_cpuid(leaf, sub, out);
        return;
    }
    if (__atomic_load_n(&host_cache_leaves[slot].ready, __ATOMIC_ACQUIRE)) {
        for (int i = 0; i < 4; i++) {
            out[i] = __atomic_load_n(&host_cache_leaves[slot].out[i], __ATOMIC_RELAXED);
        }
        return;
    }
    host_cpuid(leaf, sub, out);
    for (int i = 0; i < 4; i++) {   /* racing threads store the same values */
        __atomic_store_n(&host_cache_leaves[slot].out[i], out[i], __ATOMIC_RELAXED);
    }
    __atomic_store_n(&host_cache_leaves[slot].ready, 1, __ATOMIC_RELEASE);
}

static uint64_t host_xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

bool x86_vendor_intel(void)
{
    static int intel = -1;   /* hot (flag helpers): decided once, read without a lock */
    int v = __atomic_load_n(&intel, __ATOMIC_RELAXED);
    if (v < 0) {
        uint32_t r[4];
        host_cpuid_once(0, 0, r);
        v = r[1] == 0x756e6547u && r[3] == 0x49656e69u && r[2] == 0x6c65746eu;   /* "GenuineIntel" */
        __atomic_store_n(&intel, v, __ATOMIC_RELAXED);
    }
    return v;
}

bool x86_host_has_feature(X86Feature f)
{
    if (f == X86_FEAT_BASE) {
        return true;
    }
    const X86FeatureBit *b = &x86_feature_bits[f];
    uint32_t r[4];
    host_cpuid_once(b->leaf & 0x80000000u, 0, r);
    if (r[0] < b->leaf) {
        return false;
    }
    if (b->leaf == 0xd) {
        /* XSAVE's subleaves exist only when XSAVE does. */
        if (!x86_host_has_feature(X86_FEAT_XSAVE)) {
            return false;
        }
    }
    host_cpuid_once(b->leaf, b->subleaf, r);
    if (!((r[b->reg] >> b->bit) & 1)) {
        return false;
    }
    /* The AVX family also needs the OS to save YMM state. */
    if (f == X86_FEAT_AVX || f == X86_FEAT_AVX2 || f == X86_FEAT_FMA || f == X86_FEAT_F16C) {
        host_cpuid_once(1, 0, r);
        if (!((r[2] >> 27) & 1) || (host_xgetbv0() & 6) != 6) {
            return false;
        }
    }
    return true;
}

/* Features with no instruction of their own: advertised whenever the host has them. */
static bool x86_feature_is_state(X86Feature f)
{
    return f == X86_FEAT_LM || f == X86_FEAT_NX || f == X86_FEAT_ERMS || f == X86_FEAT_FSRM;
}

/* The psABI levels (x86-64 psABI, "micro-architecture levels"). TSC is in every level: every x86-64 has it. */
static const X86Feature x86_level_v1[] = {
    X86_FEAT_FPU, X86_FEAT_TSC, X86_FEAT_CX8, X86_FEAT_CMOV, X86_FEAT_MMX, X86_FEAT_FXSR,
    X86_FEAT_SSE, X86_FEAT_SSE2, X86_FEAT_SYSCALL, X86_FEAT_LM, X86_FEAT_NX,
};
static const X86Feature x86_level_v2[] = {
    X86_FEAT_CX16, X86_FEAT_LAHF_LM, X86_FEAT_POPCNT, X86_FEAT_SSE3, X86_FEAT_SSE41, X86_FEAT_SSE42,
    X86_FEAT_SSSE3,
};
static const X86Feature x86_level_v3[] = {
    X86_FEAT_AVX, X86_FEAT_AVX2, X86_FEAT_BMI1, X86_FEAT_BMI2, X86_FEAT_F16C, X86_FEAT_FMA,
    X86_FEAT_LZCNT, X86_FEAT_MOVBE, X86_FEAT_XSAVE, X86_FEAT_OSXSAVE,
};

enum { X86_MODEL_MAX, X86_MODEL_V1, X86_MODEL_V2, X86_MODEL_V3, X86_MODEL_COUNT };
static const char *const x86_model_name_list[X86_MODEL_COUNT + 1] = {"max", "x86-64-v1", "x86-64-v2",
                                                                    "x86-64-v3", NULL};
static X86CPUModel x86_models[X86_MODEL_COUNT];
static pthread_once_t x86_models_once = PTHREAD_ONCE_INIT;

static void x86_set_brand(X86CPUModel *m)
{
    char host[49] = {0}, brand[48] = {0};
    uint32_t r[4];
    host_cpuid_once(0x80000000u, 0, r);
    if (r[0] >= 0x80000004u) {
        for (uint32_t i = 0; i < 3; i++) {
            host_cpuid_once(0x80000002u + i, 0, r);
            memcpy(host + 16 * i, r, 16);
        }
    }
    const char *h = host;
    while (*h == ' ') {
        h++;
    }
    size_t n = strlen(h);
    while (n > 0 && h[n - 1] == ' ') {
        n--;
    }
    /* At most 47 characters and a NUL, as the leaves hold. */
    snprintf(brand, sizeof(brand), "Ember x86-64 (host: %.*s)", (int)n, h);
    memcpy(m->brand, brand, sizeof(brand));
}

static void x86_model_build(X86CPUModel *m, const char *name, const X86CPUModel *max, int level)
{
    memset(m, 0, sizeof(*m));
    m->name = name;
    if (max == NULL) {
        for (int f = 0; f < X86_FEAT_COUNT; f++) {
            bool impl = x86_feature_implemented((X86Feature)f) || x86_feature_is_state((X86Feature)f);
            m->has[f] = impl && x86_host_has_feature((X86Feature)f);
        }
    } else {
        const X86Feature *lists[3] = {x86_level_v1, x86_level_v2, x86_level_v3};
        const size_t counts[3] = {sizeof(x86_level_v1) / sizeof(X86Feature), sizeof(x86_level_v2) / sizeof(X86Feature),
                                  sizeof(x86_level_v3) / sizeof(X86Feature)};
        m->has[X86_FEAT_BASE] = true;
        for (int l = 0; l < level; l++) {
            for (size_t i = 0; i < counts[l]; i++) {
                m->has[lists[l][i]] = max->has[lists[l][i]];
            }
        }
    }
    m->has[X86_FEAT_BASE] = true;
    /* OSXSAVE: our "OS" (the user-mode front end) always enables XSAVE when it is there. */
    m->has[X86_FEAT_OSXSAVE] = m->has[X86_FEAT_XSAVE];
    if (!m->has[X86_FEAT_XSAVE]) {
        m->has[X86_FEAT_XSAVEOPT] = m->has[X86_FEAT_XSAVEC] = false;
    }
    /* AVX2, FMA and F16C are VEX instructions: they need AVX's state. */
    if (!m->has[X86_FEAT_AVX]) {
        m->has[X86_FEAT_AVX2] = m->has[X86_FEAT_FMA] = m->has[X86_FEAT_F16C] = false;
    }
    /* How the x87 pointers behave is the same in every model (hostexec-run.c): the host's, on Intel. AMD
       hosts keep AMD's behaviour, which these bits do not describe. */
    m->has[X86_FEAT_FDP_EXCPTN_ONLY] = x86_vendor_intel() && x86_host_has_feature(X86_FEAT_FDP_EXCPTN_ONLY);
    m->has[X86_FEAT_ZERO_FCS_FDS] = x86_vendor_intel() && x86_host_has_feature(X86_FEAT_ZERO_FCS_FDS);
    m->xcr0_mask = X86_XSTATE_X87 | X86_XSTATE_SSE | (m->has[X86_FEAT_AVX] ? X86_XSTATE_AVX : 0);

    uint32_t r[4];
    host_cpuid_once(0, 0, r);
    m->max_leaf = 0xd;
    m->vendor[0] = r[1];
    m->vendor[1] = r[3];
    m->vendor[2] = r[2];
    host_cpuid_once(1, 0, r);
    m->leaf1_eax = r[0];
    m->leaf1_ebx = r[1] & 0xff00;   /* only the CLFLUSH line size: one logical CPU, APIC id 0 */
    m->max_xleaf = 0x80000008u;
    host_cpuid_once(0x80000000u, 0, r);
    if (r[0] >= 0x80000008u) {
        host_cpuid_once(0x80000008u, 0, r);
        m->addr_sizes = r[0] & 0xffff;
    } else {
        m->addr_sizes = 0x3028;   /* 40 physical, 48 virtual address bits */
    }
    x86_set_brand(m);
}

static void x86_models_init(void)
{
    x86_model_build(&x86_models[X86_MODEL_MAX], x86_model_name_list[X86_MODEL_MAX], NULL, 0);
    for (int l = 1; l <= 3; l++) {
        x86_model_build(&x86_models[l], x86_model_name_list[l], &x86_models[X86_MODEL_MAX], l);
    }
}

const X86CPUModel *x86_cpu_model_find(const char *name)
{
    pthread_once(&x86_models_once, x86_models_init);
    if (name == NULL) {
        return &x86_models[X86_MODEL_MAX];
    }
    for (int i = 0; i < X86_MODEL_COUNT; i++) {
        if (strcmp(name, x86_model_name_list[i]) == 0) {
            return &x86_models[i];
        }
    }
    return NULL;
}

const char *const *x86_cpu_model_names(void)
{
    return x86_model_name_list;
}

bool x86_model_has_feature(const struct X86CPUModel *model, X86Feature f)
{
    if (model == NULL) {
        model = x86_cpu_model_find(NULL);
    }
    return (unsigned)f < X86_FEAT_COUNT && model->has[f];
}

uint64_t x86_guest_xcr0(const CPUX86State *env)
{
    const X86CPUModel *m = env->model ? env->model : x86_cpu_model_find(NULL);
    return env->xcr0 & m->xcr0_mask;
}

uint32_t x86_xsave_size(uint64_t xcr0)
{
    return (xcr0 & X86_XSTATE_AVX) ? X86_XSAVE_AVX_OFFSET + X86_XSAVE_AVX_SIZE : X86_XSAVE_AVX_OFFSET;
}

/* OR the advertised feature bits of (leaf, subleaf) into out. */
static void x86_cpuid_features(const X86CPUModel *m, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    for (int f = 1; f < X86_FEAT_COUNT; f++) {
        const X86FeatureBit *b = &x86_feature_bits[f];
        if (m->has[f] && b->leaf == leaf && b->subleaf == sub) {
            out[b->reg] |= 1u << b->bit;
        }
    }
}

void x86_cpuid(const X86CPUModel *m, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    if (m == NULL) {
        m = x86_cpu_model_find(NULL);
    }
    memset(out, 0, 4 * sizeof(uint32_t));
    bool ext = leaf >= 0x80000000u;
    if ((!ext && leaf > m->max_leaf) || (ext && leaf > m->max_xleaf)) {
        return;   /* not implemented: reads as zero */
    }
    switch (leaf) {
    case 0:
        out[0] = m->max_leaf;
        out[1] = m->vendor[0];
        out[3] = m->vendor[1];
        out[2] = m->vendor[2];
        return;
    case 1:
        out[0] = m->leaf1_eax;
        out[1] = m->leaf1_ebx;
        break;
    case 2:
    case 4:
    case 0x80000005u:
    case 0x80000006u:
        /* Cache descriptions: the host's, since the vendor is the host's too (glibc sizes its copy
           thresholds from them). */
        host_cpuid_cached(leaf, sub, out);
        if (leaf == 4) {
            out[0] &= 0x3ff;   /* one core, one thread sharing each cache */
        }
        return;
    case 7:
        if (sub != 0) {
            return;
        }
        break;
    case 0xd:
        if (!m->has[X86_FEAT_XSAVE]) {
            return;
        }
        if (sub == 0) {
            out[0] = (uint32_t)m->xcr0_mask;
            out[1] = x86_xsave_size(m->xcr0_mask);
            out[2] = x86_xsave_size(m->xcr0_mask);
            return;
        }
        if (sub == 1) {
            out[1] = x86_xsave_size(m->xcr0_mask);
            break;
        }
        if (sub == 2 && (m->xcr0_mask & X86_XSTATE_AVX)) {
            out[0] = X86_XSAVE_AVX_SIZE;
            out[1] = X86_XSAVE_AVX_OFFSET;
        }
        return;
    case 0x80000000u:
        out[0] = m->max_xleaf;
        return;
    case 0x80000002u:
    case 0x80000003u:
    case 0x80000004u:
        memcpy(out, &m->brand[4 * (leaf - 0x80000002u)], 16);
        return;
    case 0x80000008u:
        out[0] = m->addr_sizes;
        return;
    default:
        break;
    }
    /* Only leaves 7 and 0xd have subleaves; the others ignore ECX (glibc leaves garbage in it). */
    x86_cpuid_features(m, leaf, (leaf == 7 || leaf == 0xd) ? sub : 0, out);
}
