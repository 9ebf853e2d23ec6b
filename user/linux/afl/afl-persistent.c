/*
 * Persistent mode (AFL_QEMU_PERSISTENT_ADDR): the child runs the function at ADDR once per test case,
 * without forking. When the function returns (at AFL_QEMU_PERSISTENT_RET, or to the return address it was
 * first called with), the child stops itself (the fork server reports the run), and when continued it
 * jumps back to ADDR with the stack pointer - and with AFL_QEMU_PERSISTENT_GPR all general registers, with
 * AFL_QEMU_PERSISTENT_MEM / AFL_QEMU_SNAPSHOT the writable memory too - as they were at the first call.
 * After AFL_QEMU_PERSISTENT_CNT runs the function returns normally and the program exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib.h>

#include "core/target-x86/cpu.h"
#include "core/tcg/cpu-exec.h"
#include "core/tcg/tcg-gen.h"
#include "user/linux/afl/afl.h"
#include "user/linux/guest-mem.h"

/* A saved piece of writable guest memory. */
typedef struct AflSnapRegion {
    uint64_t start, len;
    void *copy;
} AflSnapRegion;

static struct {
    bool saved;
    bool ret_known;            /* ret_addr is set (return sites translated from then on have the hook) */
    bool done;                 /* CNT runs are over: let the function return */
    uint32_t runs;
    uint64_t rsp, ret_addr;
    uint64_t regs[16];
    GArray *snap;              /* AflSnapRegion */
} persist;

/* Regions larger than this are not snapshotted (a guest's huge reservations are mostly untouched). */
#define AFL_SNAP_REGION_MAX (256ULL << 20)

typedef struct AflPiece {
    uint64_t start, end;
} AflPiece;

static void collect_piece(uint64_t start, uint64_t end, void *opaque)
{
    AflPiece piece = {start, end};
    g_array_append_val(*(GArray **)opaque, piece);
}

/* Copy every private writable region of the guest (the walker runs locked: collect first, copy after). */
static void snapshot_take(void)
{
    GArray *pieces = g_array_new(FALSE, FALSE, sizeof(AflPiece));
    guest_mem_walk(0, 1ULL << 47, true, collect_piece, &pieces);
    persist.snap = g_array_new(FALSE, FALSE, sizeof(AflSnapRegion));
    uint64_t total = 0;
    for (guint i = 0; i < pieces->len; i++) {
        AflPiece pc = g_array_index(pieces, AflPiece, i);
        for (uint64_t a = pc.start; a < pc.end;) {
            uint64_t s, e;
            GuestRegionInfo info;
            if (!guest_mem_lookup(a, &s, &e, &info, NULL, 0)) {
                a += 4096;
                continue;
            }
            if (e > pc.end) {
                e = pc.end;
            }
            uint64_t from = a;
            /* Below the stack pointer is only the function's own scratch: keep the callers' frames. */
            if (persist.rsp >= a && persist.rsp < e) {
                from = persist.rsp & ~4095ULL;
            }
            if ((info.prot & PROT_WRITE) && (info.prot & PROT_READ) && !info.shared && e - from <= AFL_SNAP_REGION_MAX) {
                AflSnapRegion r = {from, e - from, g_malloc(e - from)};
                total += r.len;
                memcpy(r.copy, (void *)(uintptr_t)from, r.len);
                g_array_append_val(persist.snap, r);
            }
            a = e;
        }
    }
    g_array_free(pieces, TRUE);
    if (afl.debug) {
        fprintf(stderr, "ember-x86_64: AFL: snapshot of %u regions, %llu bytes\n", persist.snap->len,
                (unsigned long long)total);
    }
}

static void snapshot_restore(void)
{
    for (guint i = 0; persist.snap && i < persist.snap->len; i++) {
        AflSnapRegion *r = &g_array_index(persist.snap, AflSnapRegion, i);
        if (guest_mem_is_guest(r->start, r->len) && (guest_mem_prot_at(r->start) & PROT_WRITE)) {
            memcpy((void *)(uintptr_t)r->start, r->copy, r->len);
        }
    }
}

/* At ADDR: the first time, remember the state the runs start from. */
static void afl_persistent_enter(CPUX86State *env)
{
    if (afl.forkserver && !afl.in_child) {
        return;   /* still in the fork server, before any child */
    }
    if (persist.saved) {
        afl_hook_run(env);   /* a later run (we jumped here): its test case */
        return;
    }
    persist.saved = true;
    afl_prev_loc_reset(env);   /* as at each later run's start */
    persist.rsp = env->regs[R_ESP];
    memcpy(persist.regs, env->regs, sizeof(persist.regs));
    if (afl.persist_mem) {
        snapshot_take();
    }
    if (!persist.ret_known) {
        afl_persistent_prepare(env);
    }
    afl_hook_run(env);
}

/*
 * Where the function returns to, from its first call (the return address on the stack at ADDR) or
 * AFL_QEMU_PERSISTENT_RET; the return site may be translated already, without the hook: translate it again.
 * The fork server calls this when it starts at ADDR, so its children inherit the hooked translation: each
 * child throwing away that page (often all of a small program's code) would translate it again, block by
 * block, over its first runs.
 */
void afl_persistent_prepare(CPUX86State *env)
{
    persist.ret_addr = afl.persist_ret ? afl.persist_ret : *(uint64_t *)(uintptr_t)env->regs[R_ESP];
    persist.ret_known = true;
    tb_invalidate_page(persist.ret_addr & TB_PAGE_MASK);
}

/* At the return site: end the run; continue with the next one at ADDR, or return after the last. */
static void afl_persistent_return(CPUX86State *env)
{
    if (!persist.saved || persist.done || (afl.persist_ret == 0 && env->regs[R_ESP] != persist.rsp + 8)) {
        return;   /* not our function's return (the same code reached from elsewhere), or over */
    }
    if (++persist.runs >= afl.persist_cnt) {
        /* The rest of the program is no run's coverage (like __AFL_LOOP's end in afl's runtime). */
        persist.done = true;
        afl_maps_discard();
        return;
    }
    /* Reported first: restoring the state overlaps with afl-fuzz's work on this run. */
    bool reported = afl.in_child && afl_forkserver_child_report();
    afl_prev_loc_reset(env);
    if (afl.persist_mem) {
        snapshot_restore();
    }
    if (afl.persist_gpr) {
        memcpy(env->regs, persist.regs, sizeof(persist.regs));
    }
    env->regs[R_ESP] = persist.rsp;
    if (reported) {
        afl_forkserver_child_next();
    }
    env->tcg.pc = afl.persist_addr;
    tcg_cpu_loop_exit(&env->tcg, TCG_EXIT_NONE);   /* restart at ADDR */
}

static const TCGHelperInfo afl_persist_enter_info = {
    "afl_persistent_enter", (void *)afl_persistent_enter, 0, TCG_ARG_VOID, 1, {TCG_ARG_PTR},
};
static const TCGHelperInfo afl_persist_return_info = {
    "afl_persistent_return", (void *)afl_persistent_return, 0, TCG_ARG_VOID, 1, {TCG_ARG_PTR},
};

bool afl_persistent_wants(uint64_t pc)
{
    return pc == afl.persist_addr || (persist.ret_known && pc == persist.ret_addr) ||
           (afl.persist_ret && pc == afl.persist_ret);
}

void afl_persistent_emit(TCGContext *s, uint64_t pc)
{
    TCGTemp env = TCG_TEMP_ENV;
    if (pc == afl.persist_addr) {
        tcg_gen_call(s, &afl_persist_enter_info, -1, 1, &env);
    }
    if ((persist.ret_known && pc == persist.ret_addr) || (afl.persist_ret && pc == afl.persist_ret)) {
        /* The state's pc must say where we are, in case the helper continues here. */
        tcg_gen_st(s, MO_64, tcg_const(s, pc), TCG_TEMP_ENV, (uint32_t)offsetof(TCGCPU, pc));
        tcg_gen_call(s, &afl_persist_return_info, -1, 1, &env);
    }
}
