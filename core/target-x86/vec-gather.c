/*
 * AVX2 gathers (VGATHERDPS/DPD/QPS/QPD, VPGATHERDD/DQ/QD/QQ). They address memory through a vector of
 * indexes, which no remapping to [rsi] can express, so they run here. Each element whose mask element's
 * top bit is set is loaded and its mask element cleared, in order; a fault leaves the completed elements
 * done and their mask bits clear, so the restarted instruction carries on (as the hardware does). At the
 * end the whole mask is zero and both registers' bits above the gathered width are zero (VEX rules).
 */
#include <string.h>

#include "core/target-x86/helpers.h"

void helper_gather(CPUX86State *env, uint64_t base, uint32_t desc)
{
    unsigned dst = desc & 15, index = (desc >> 4) & 15, mask = (desc >> 8) & 15;
    unsigned scale = (desc >> 12) & 3;
    bool vl256 = (desc >> 14) & 1, data64 = (desc >> 15) & 1, index64 = (desc >> 16) & 1;
    unsigned n = (vl256 ? 256 : 128) / (data64 || index64 ? 64 : 32);
    X86YMMReg *d = &env->ymm[dst], *m = &env->ymm[mask];
    const X86YMMReg *x = &env->ymm[index];

    for (unsigned i = 0; i < n; i++) {
        bool on = data64 ? (m->q[i] >> 63) != 0 : (m->d[i] >> 31) != 0;
        if (!on) {
            continue;
        }
        int64_t idx = index64 ? (int64_t)x->q[i] : (int64_t)(int32_t)x->d[i];
        const void *p = (const void *)(uintptr_t)(base + ((uint64_t)idx << scale));
        if (data64) {
            memcpy(&d->q[i], p, 8);
            m->q[i] = 0;
        } else {
            memcpy(&d->d[i], p, 4);
            m->d[i] = 0;
        }
    }
    /* Everything above the gathered elements is zeroed, in the destination and the mask. */
    unsigned bytes = n * (data64 ? 8 : 4);
    memset(d->b + bytes, 0, sizeof(d->b) - bytes);
    memset(m->b, 0, sizeof(m->b));
}
