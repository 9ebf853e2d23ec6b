/* Inputs: the default state, a seedable PRNG and random states. */
#include <string.h>

#include "core/target-x86/tests/harness.h"

void harness_state_init(HarnessState *s)
{
    memset(s, 0, sizeof(*s));
    s->regs[HR_RSP] = HARNESS_STACK_TOP;
    s->fx.fcw = 0x37f;
    s->fx.mxcsr = 0x1f80;
    s->fx.mxcsr_mask = 0xffff;
}

uint64_t harness_rng_next(HarnessRng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t harness_rng_value(HarnessRng *r)
{
    /* Values where flags and carries change: zero, one, all ones, and the sign boundaries of each width. */
    static const uint64_t edges[] = {
        0, 1, 2, ~0ULL, ~0ULL - 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000ULL,
        0xffffffffULL, 0x100000000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL, 0x8000000000000001ULL,
    };
    uint64_t pick = harness_rng_next(r);
    switch (pick % 4) {
    case 0:
        return edges[(pick >> 8) % (sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return (pick >> 8) % 64;   /* small: shift counts, loop counts */
    default:
        return harness_rng_next(r);
    }
}

void harness_state_random(HarnessState *s, HarnessRng *r)
{
    harness_state_init(s);
    for (int i = 0; i < 16; i++) {
        if (i != HR_RSP) {
            s->regs[i] = harness_rng_value(r);
        }
    }
    s->rflags = harness_rng_next(r) & HARNESS_ARITH_FLAGS;
    for (int i = 0; i < 16; i++) {
        for (int k = 0; k < 4; k++) {
            s->ymm[i].q[k] = harness_rng_next(r);
        }
    }
    for (size_t off = 0; off < HARNESS_DATA_SIZE; off += 8) {
        uint64_t v = harness_rng_next(r);
        memcpy(s->mem + off, &v, 8);
    }
}

void harness_point_at_data(HarnessState *s, HarnessRng *r, uint32_t reg_mask)
{
    for (int i = 0; i < 16; i++) {
        if (reg_mask & (1u << i)) {
            s->regs[i] = HARNESS_DATA_ADDR + HARNESS_DATA_SIZE / 4 + harness_rng_next(r) % (HARNESS_DATA_SIZE / 2);
        }
    }
}

void harness_setup_data_regs(HarnessState *s, HarnessRng *r, void *reg_mask)
{
    harness_point_at_data(s, r, *(const uint32_t *)reg_mask);
}
