/*
 * Fault sites: precise state at a faulting guest access without writing guest registers back before
 * every access (see jit-ctx.h). Record layout, in 32-bit words, after the block's code:
 *
 *   host offset of the access (from the block header), its length in bytes,
 *   guest pc (low word, high word), n, then n words: env offset | host register << 24, where the
 *   register JIT_SITE_CONST instead says the next word is the value (a pending constant, sign-extended)
 *   and JIT_SITE_PIN_DISP that the next two are a pinned global's register and what to add to it
 *   (additions the compiler has deferred, jit-pin-disp.c)
 *
 * A record is written only for accesses in generated code proper; helpers called from it run after a
 * full write-back, so a fault inside one already sees exact state. Pinned globals are not listed: their
 * registers hold their current values at every site, so the restore takes them all (JitBlock.pinned).
 */
#include <string.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit-ctx.h"

#define JIT_SITE_CONST 0xffu
#define JIT_SITE_PIN_DISP 0xfeu

void jit_sites_reset(JitCtx *c)
{
    c->nsite_words = 0;
    c->nsites = 0;
    c->site_open = -1;
}

/* A register the site lists: a dirty global's that is not pinned. */
static bool jit_site_lists(const JitCtx *c, int r)
{
    TCGTemp t = c->reg_temp[r];
    return t >= 0 && c->reg_dirty[r] && c->s->temps[t].kind == TEMP_GLOBAL && !jit_reg_pinned(c, r);
}

bool jit_site_open(JitCtx *c, uint64_t guest_pc)
{
    if (c->nsite_words + JIT_SITE_FIXED + 16 + 2 * JIT_MAX_PENDING_CONSTS + 3 > JIT_SITE_WORDS) {
        return false;   /* room for the longest record (one pass over the registers fills it) */
    }
    uint32_t *w = &c->site_words[c->nsite_words];
    w[2] = (uint32_t)guest_pc;
    w[3] = (uint32_t)(guest_pc >> 32);
    int k = JIT_SITE_FIXED;
    for (int r = 0; r < 16; r++) {
        if (jit_site_lists(c, r)) {
            w[k++] = (uint32_t)c->s->temps[c->reg_temp[r]].env_offset | (uint32_t)r << 24;
        }
    }
    for (int i = 0; i < c->nkonst; i++) {
        w[k++] = (uint32_t)jit_slot(c, c->konst[i].t) | JIT_SITE_CONST << 24;
        w[k++] = (uint32_t)c->konst[i].v;
    }
    if (c->pin_disp_temp >= 0 && c->pin_disp != 0) {
        w[k++] = (uint32_t)jit_slot(c, c->pin_disp_temp) | JIT_SITE_PIN_DISP << 24;
        w[k++] = (uint32_t)(c->temp_reg[c->pin_disp_temp] - 1);
        w[k++] = (uint32_t)c->pin_disp;
    }
    w[4] = (uint32_t)(k - JIT_SITE_FIXED);
    c->site_open = c->nsite_words;
    return true;
}

void jit_site_close(JitCtx *c, const uint8_t *start, const uint8_t *end)
{
    uint32_t *w = &c->site_words[c->site_open];
    w[0] = (uint32_t)(start - (const uint8_t *)c->hdr);
    w[1] = (uint32_t)(end - start);
    c->nsite_words += JIT_SITE_FIXED + (int)w[4];
    c->nsites++;
    c->site_open = -1;
}

void jit_sites_finish(JitCtx *c)
{
    JitBuf *b = &c->b;
    while (((uintptr_t)b->p & 3) && b->p < b->end) {
        *b->p++ = 0xcc;
    }
    size_t bytes = (size_t)c->nsite_words * sizeof(uint32_t);
    if (b->p + bytes > b->end) {
        b->overflow = true;
        return;
    }
    c->hdr->sites = (uint32_t)(b->p - (uint8_t *)c->hdr);
    c->hdr->nsites = (uint32_t)c->nsites;
    c->hdr->pinned = c->pins != NULL;
    memcpy(b->p, c->site_words, bytes);
    b->p += bytes;
    c->hdr->bytes = (uint32_t)(b->p - (uint8_t *)c->hdr);
}

bool jit_restore_state(TCGCPU *cpu, uintptr_t pc, const uint64_t regs[16])
{
    const JitBlock *h = jit_block_at(pc);
    if (!h) {
        return false;
    }
    uint32_t at = (uint32_t)(pc - (uintptr_t)h);
    const uint32_t *w = (const uint32_t *)((const uint8_t *)h + h->sites);
    for (uint32_t i = 0; i < h->nsites; i++) {
        uint32_t n = w[4];
        if (at >= w[0] && at < w[0] + w[1]) {
            /* The pinned first: an entry may correct one (JIT_SITE_PIN_DISP). */
            for (int k = 0; h->pinned && k < jit_pins.n; k++) {
                memcpy((uint8_t *)cpu + jit_pins.env_offset[k], &regs[jit_pins.reg[k]], sizeof(uint64_t));
            }
            const uint32_t *list = w + JIT_SITE_FIXED;
            for (uint32_t k = 0; k < n; k++) {
                uint32_t e = list[k], kind = e >> 24;
                uint64_t v = regs[kind & 15];
                if (kind == JIT_SITE_CONST) {
                    v = (uint64_t)(int64_t)(int32_t)list[++k];
                } else if (kind == JIT_SITE_PIN_DISP) {
                    v = regs[list[k + 1] & 15] + (uint64_t)(int64_t)(int32_t)list[k + 2];
                    k += 2;
                }
                memcpy((uint8_t *)cpu + (e & 0xffffff), &v, sizeof(uint64_t));
            }
            cpu->insn_pc = (uint64_t)w[2] | (uint64_t)w[3] << 32;
            return true;
        }
        w += JIT_SITE_FIXED + n;
    }
    return false;
}
