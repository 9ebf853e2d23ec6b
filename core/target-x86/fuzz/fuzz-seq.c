/*
 * Sequences as bytes and input states: cutting a byte string into units (for --replay), taking a subset of
 * a sequence's units (for shrinking), and the random input state a sequence runs from.
 */
#include <string.h>

#include "core/target-x86/fuzz/fuzz.h"

void fuzz_seq_from_bytes(FuzzSeq *seq, const uint8_t *bytes, size_t len)
{
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    if (len > sizeof(seq->bytes)) {
        len = sizeof(seq->bytes);
    }
    memcpy(seq->bytes, bytes, len);
    seq->len = len;
    seq->nunits = 0;
    size_t off = 0;
    while (off < len && seq->nunits < FUZZ_MAX_UNITS) {
        ZydisDecodedInstruction insn;
        size_t n = 1;
        FuzzUnit *u = &seq->unit[seq->nunits++];
        u->mnemonic = ZYDIS_MNEMONIC_INVALID;
        u->isa_ext = 0;
        if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, bytes + off, len - off, &insn))) {
            n = insn.length;
            u->mnemonic = insn.mnemonic;
            u->isa_ext = (uint8_t)insn.meta.isa_ext;
        }
        u->offset = (uint16_t)off;
        u->insn_offset = (uint16_t)off;
        u->len = (uint16_t)n;
        off += n;
    }
    if (off < len) {   /* more instructions than units: the rest rides with the last one */
        seq->unit[seq->nunits - 1].len = (uint16_t)(len - seq->unit[seq->nunits - 1].offset);
    }
}

bool fuzz_seq_subset(FuzzSeq *out, const FuzzSeq *from, const bool *keep)
{
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    out->len = 0;
    out->nunits = 0;
    for (int i = 0; i < from->nunits; i++) {
        if (!keep[i]) {
            continue;
        }
        const FuzzUnit *u = &from->unit[i];
        FuzzUnit *v = &out->unit[out->nunits++];
        *v = *u;
        v->offset = (uint16_t)out->len;
        v->insn_offset = (uint16_t)(out->len + (u->insn_offset - u->offset));
        memcpy(out->bytes + out->len, from->bytes + u->offset, u->len);
        /* A RIP-relative operand keeps its target: its displacement moves with the instruction. */
        int64_t moved = (int64_t)u->offset - (int64_t)v->offset;
        ZydisDecodedInstruction insn;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        for (size_t off = 0; off < u->len; off += insn.length) {
            uint8_t *p = out->bytes + out->len + off;
            if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, p, u->len - off, &insn, ops))) {
                return false;
            }
            for (int k = 0; k < insn.operand_count_visible; k++) {
                if (ops[k].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[k].mem.base == ZYDIS_REGISTER_RIP &&
                    insn.raw.disp.size == 32) {
                    int32_t d;
                    memcpy(&d, p + insn.raw.disp.offset, 4);
                    /* A target inside the unit itself (LEA of a branch target) moves with it. */
                    int64_t target = (int64_t)u->offset + (int64_t)off + insn.length + d;
                    if (target >= (int64_t)u->offset && target <= (int64_t)(u->offset + u->len)) {
                        continue;
                    }
                    d = (int32_t)(d + moved);
                    memcpy(p + insn.raw.disp.offset, &d, 4);
                }
            }
        }
        out->len += u->len;
    }
    return true;
}

/* --- input states -------------------------------------------------------------------------------------- */

static uint64_t fuzz_edge_double(HarnessRng *r)
{
    static const uint64_t edges[] = {
        0, 0x8000000000000000ULL, 0x3ff0000000000000ULL, 0xbff0000000000000ULL, 0x7ff0000000000000ULL,
        0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7ff0000000000001ULL,
        0x0000000000000001ULL, 0x000fffffffffffffULL, 0x0010000000000000ULL, 0x7fefffffffffffffULL,
        0x43e0000000000000ULL, 0xc3e0000000000000ULL, 0x41e0000000000000ULL, 0x3fe0000000000000ULL,
    };
    return edges[harness_rng_next(r) % (sizeof(edges) / sizeof(edges[0]))];
}

static uint32_t fuzz_edge_float(HarnessRng *r)
{
    static const uint32_t edges[] = {
        0, 0x80000000u, 0x3f800000u, 0xbf800000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffc00000u,
        0x7f800001u, 0x00000001u, 0x007fffffu, 0x00800000u, 0x7f7fffffu, 0x4f000000u, 0xcf000000u, 0x3f000000u,
    };
    return edges[harness_rng_next(r) % (sizeof(edges) / sizeof(edges[0]))];
}

/* Sprinkle floating-point edge values over `n` bytes. */
static void fuzz_sprinkle(uint8_t *p, size_t n, HarnessRng *r)
{
    for (size_t off = 0; off + 8 <= n; off += 8) {
        switch (harness_rng_next(r) % 8) {
        case 0: {
            uint64_t d = fuzz_edge_double(r);
            memcpy(p + off, &d, 8);
            break;
        }
        case 1: {
            uint32_t f[2] = {fuzz_edge_float(r), fuzz_edge_float(r)};
            memcpy(p + off, f, 8);
            break;
        }
        case 2: {   /* a small normal double: arithmetic that neither overflows nor underflows at once */
            uint64_t d = (harness_rng_next(r) & 0x800fffffffffffffULL) | ((uint64_t)(0x3f0 + harness_rng_next(r) % 32) << 52);
            memcpy(p + off, &d, 8);
            break;
        }
        default:
            break;
        }
    }
}

void fuzz_input_state(HarnessState *s, uint64_t seed)
{
    HarnessRng r = {seed};
    harness_state_random(s, &r);
    if (harness_rng_next(&r) % 4 == 0) {
        s->rflags |= HARNESS_DF;
    }
    for (int i = 0; i < 16; i++) {
        fuzz_sprinkle(s->ymm[i].b, 32, &r);
    }
    fuzz_sprinkle(s->mem, HARNESS_DATA_SIZE, &r);
    /* MXCSR: rounding mode, FTZ, DAZ and sticky flags vary; exceptions stay masked. */
    if (harness_rng_next(&r) % 2) {
        s->fx.mxcsr = 0x1f80 | ((uint32_t)harness_rng_next(&r) & 0xe07f);
    }
    /* x87: half the time a loaded stack with random tags, precision and rounding. */
    if (harness_rng_next(&r) % 2) {
        s->fx.fcw = (uint16_t)(0x7f | (harness_rng_next(&r) & 0xf00));
        unsigned top = (unsigned)(harness_rng_next(&r) % 8);
        s->fx.fsw = (uint16_t)(top << 11);
        s->fx.ftw = (uint8_t)harness_rng_next(&r);
        for (int i = 0; i < 8; i++) {
            uint64_t mant = harness_rng_next(&r) | (1ULL << 63);
            uint16_t se;
            switch (harness_rng_next(&r) % 8) {
            case 0: se = 0; mant = 0; break;                                     /* zero */
            case 1: se = 0x7fff; mant = 1ULL << 63; break;                        /* infinity */
            case 2: se = 0x7fff; mant |= 1ULL << 62; break;                       /* quiet NaN */
            case 3: se = 0; mant &= ~(1ULL << 63); break;                         /* denormal */
            default: se = (uint16_t)(0x3fff - 64 + harness_rng_next(&r) % 128); break;
            }
            if (harness_rng_next(&r) % 2) {
                se |= 0x8000;
            }
            memcpy(s->fx.st[i], &mant, 8);
            memcpy(s->fx.st[i] + 8, &se, 2);
        }
    }
}
