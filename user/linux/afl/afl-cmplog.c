/*
 * CMPLOG: the operands of each comparison go into afl-fuzz's cmplog map, so its "redqueen" stage can find
 * the input bytes that feed a compare and replace them with the other operand.
 *
 * The map's layout is afl++ 4.04c's (include/cmplog.h): CMP_MAP_W headers of 8 bytes, then for each of them
 * CMP_MAP_H slots of operands. A header's slot counter wraps; afl-fuzz clears the headers before each run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "user/linux/afl/afl.h"

_Static_assert(sizeof(AflCmpHeader) == 8, "cmp_header is 8 bytes in afl++ 4.04c");
_Static_assert(sizeof(AflCmpOperands) == 32, "cmp_operands is 32 bytes in afl++ 4.04c");
_Static_assert(sizeof(AflCmpFnOperands) == 64, "cmpfn_operands is 64 bytes in afl++ 4.04c");

int afl_cmplog_attach(const char *shm_id)
{
    void *m = shmat(atoi(shm_id), NULL, 0);
    if (m == (void *)-1) {
        fprintf(stderr, "ember-x86_64: cannot attach the CMPLOG map (shm %s): %s\n", shm_id, strerror(errno));
        return -1;
    }
    afl.cmp_map = m;
    return 0;
}

/* Called from generated code at each CMP/SUB in the instrumented ranges (pc identifies the compare). */
void afl_cmplog_log(uint64_t pc, uint64_t v0, uint64_t v1, uint32_t bits)
{
    uint32_t k = afl_hash_pc(pc, CMP_MAP_W - 1);
    AflCmpHeader *h = &afl.cmp_map->headers[k];
    unsigned shape = bits / 8 - 1;
    uint32_t hits;
    if (h->type != CMP_TYPE_INS) {
        h->type = CMP_TYPE_INS;
        h->hits = 1;
        h->shape = shape;
        hits = 0;
    } else {
        hits = h->hits;
        if (hits < (1u << 24) - 1) {
            h->hits = hits + 1;
        }
        if (h->shape < shape) {
            h->shape = shape;
        }
    }
    if (bits < 64) {
        uint64_t m = (1ULL << bits) - 1;
        v0 &= m;
        v1 &= m;
    }
    AflCmpOperands *o = &afl.cmp_map->log[k][hits & (CMP_MAP_H - 1)];
    o->v0 = v0;
    o->v1 = v1;
    o->v0_128 = o->v1_128 = 0;
}

/*
 * From now on, coverage and comparisons go nowhere: the maps are replaced, at the same addresses (generated
 * code holds them as constants), by private anonymous memory.
 */
void afl_maps_discard(void)
{
    if (afl.map) {
        mmap(afl.map, afl.map_size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (afl.cmp_map) {
        mmap(afl.cmp_map, sizeof(AflCmpMap), PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
             0);
    }
}
