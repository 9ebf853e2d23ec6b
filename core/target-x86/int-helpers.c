/* Helpers of the integer instructions that are simpler in C than in IR: RCL/RCR, BEXTR, BZHI, PDEP, PEXT,
   CRC32. All are pure functions of their arguments. */
#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/int-emit.h"

/*
 * RCL/RCR: rotate the (bits+1)-bit value CF:v. kind = size index (0..3) | 4 for RCR | 8 to return the new
 * flags (CF, and OF as hardware computes it) instead of the result. count is already masked to 5/6 bits;
 * 0 leaves everything as it was. The rotation is taken modulo bits+1, one bit at a time: rare enough.
 */
uint64_t helper_rotc(uint64_t v, uint64_t count, uint64_t flags, uint32_t kind)
{
    unsigned bits = 8u << (kind & 3);
    bool right = kind & 4;
    uint64_t m = int_mask(bits), top = 1ULL << (bits - 1);
    uint64_t cf = flags & X86_CF;
    v &= m;
    if (count == 0) {
        return (kind & 8) ? flags : v;
    }
    unsigned n = (unsigned)(count % (bits + 1));
    if ((kind & 8) && n == 0 && x86_vendor_intel()) {
        return flags;   /* Intel: a whole turn of an 8/16-bit operand changes no flag */
    }
    uint64_t before = v;
    for (unsigned i = 0; i < n; i++) {
        if (right) {
            uint64_t out = v & 1;
            v = (v >> 1) | (cf ? top : 0);
            cf = out;
        } else {
            uint64_t out = (v & top) ? 1 : 0;
            v = ((v << 1) & m) | cf;
            cf = out;
        }
    }
    if (!(kind & 8)) {
        return v;
    }
    /* The manual defines OF for count 1 only; the vendors differ for the others (int-shift.c). AMD: RCL:
       MSB ^ CF after the rotation; RCR: the top two bits of the result differ (for count 1, the old MSB ^
       the old CF). Intel: OF of a 1-bit rotation of the operand, whatever the count: its MSB against the
       bit that one step brings to the top (RCL: the operand's second bit; RCR: the old CF). */
    uint64_t of;
    if (x86_vendor_intel()) {
        of = ((before >> (bits - 1)) ^ (right ? flags & X86_CF : before >> (bits - 2))) & 1;
    } else {
        of = right ? ((v >> (bits - 1)) ^ (v >> (bits - 2))) & 1 : (((v & top) ? 1 : 0) ^ cf);
    }
    return (flags & ~(uint64_t)(X86_CF | X86_OF)) | cf | (of ? X86_OF : 0);
}

/* BEXTR: `len` bits of src from `start` (ctl's bytes 0 and 1); past the operand reads zeros. */
uint64_t helper_bextr(uint64_t src, uint64_t ctl, uint32_t bits)
{
    unsigned start = ctl & 0xff, len = (ctl >> 8) & 0xff;
    src &= int_mask(bits);
    if (start >= bits) {
        return 0;
    }
    uint64_t v = src >> start;
    return len >= 64 ? v : v & int_mask(len);
}

/* BZHI: src with the bits from index (idx's low byte) up cleared. */
uint64_t helper_bzhi(uint64_t src, uint64_t idx, uint32_t bits)
{
    unsigned n = idx & 0xff;
    src &= int_mask(bits);
    return n >= bits ? src : src & int_mask(n);
}

/* PDEP: the low bits of src, in order, into the set bits of mask. */
uint64_t helper_pdep(uint64_t src, uint64_t mask)
{
    uint64_t r = 0;
    for (uint64_t k = 1; mask; mask &= mask - 1, k <<= 1) {
        if (src & k) {
            r |= mask & -mask;
        }
    }
    return r;
}

/* PEXT: the bits of src under the set bits of mask, packed into the low bits. */
uint64_t helper_pext(uint64_t src, uint64_t mask)
{
    uint64_t r = 0;
    for (uint64_t k = 1; mask; mask &= mask - 1, k <<= 1) {
        if (src & mask & -mask) {
            r |= k;
        }
    }
    return r;
}

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of the low bits/8 bytes of data, least
   significant byte first, as SSE4.2's CRC32: no initial or final inversion. */
uint64_t helper_crc32c(uint64_t crc, uint64_t data, uint32_t bits)
{
    uint32_t c = (uint32_t)crc;
    for (unsigned i = 0; i < bits; i++) {
        c ^= (uint32_t)(data >> i) & 1;
        c = (c >> 1) ^ (0x82F63B78u & -(c & 1));
    }
    return c;
}
