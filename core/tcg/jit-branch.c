/*
 * Branch stubs: a conditional branch writes dirty registers back only on its taken path.
 *
 * A label reads everything from memory (jit_op's set_label), so every path into it must write back what
 * it holds dirty. For a conditional branch that used to mean the write-backs right before it, on both
 * paths, although the fall-through path has no need of them: its registers go on being valid. Now they go
 * into a stub instead, emitted after the block's body: the branch jumps to the stub, the stub stores what
 * jit_sync would have stored at the branch and jumps on to the label. The stub runs with the host
 * registers exactly as they were at the branch, which is what it was built from. This is what lets a block
 * continue past a guest conditional branch (a Jcc whose taken exit is out of line) for the price of a
 * plain host jump.
 *
 * A label that nothing falls into (the op before it leaves or jumps away, as for a Jcc's side exit after
 * the block's last instruction) gets its stubs right before it, the last one falling into it: the taken
 * path then costs no more jumps than it did with the write-backs in line. The other stubs go after the
 * block's body, each with a jump to its label.
 */
#include <string.h>

#include "core/tcg/jit-ctx.h"

/* Build the write-backs jit_sync(c, true) would emit now into the stub area, without changing the
   register file or the pending constants. A stub index, or -1 when there is nothing to write back or no
   room (then the caller writes back in line as before). */
int jit_branch_stub_open(JitCtx *c)
{
    if (c->nstubs >= JIT_MAX_STUBS || c->stub_bytes + JIT_STUB_MAX_BYTES > (int)sizeof(c->stub_code)) {
        return -1;
    }
    bool dirty[16];
    memcpy(dirty, c->reg_dirty, sizeof(dirty));
    int nkonst = c->nkonst;
    struct JitPendingConst konst[JIT_MAX_PENDING_CONSTS];
    memcpy(konst, c->konst, sizeof(konst));
    uint8_t *code = c->stub_code + c->stub_bytes;
    JitBuf body = c->b;
    c->b = (JitBuf){.start = code, .p = code, .end = code + JIT_STUB_MAX_BYTES};
    jit_sync(c, true);
    JitBuf stub = c->b;
    c->b = body;
    memcpy(c->reg_dirty, dirty, sizeof(dirty));
    memcpy(c->konst, konst, sizeof(konst));
    c->nkonst = nkonst;
    if (stub.p == code || stub.overflow || stub.error) {
        return -1;
    }
    int i = c->nstubs++;
    c->stubs[i] = (JitBranchStub){.field = NULL, .label = -1, .off = (uint16_t)c->stub_bytes,
                                  .len = (uint16_t)(stub.p - code)};
    c->stub_bytes += (int)(stub.p - code);
    return i;
}

void jit_branch_stub_close(JitCtx *c, int stub, uint8_t *field, int label)
{
    c->stubs[stub].field = field;
    c->stubs[stub].label = label;
}

/* Emit stub i here and let it go on to its label: through a jump, or by falling into it (`falls`). */
static bool jit_branch_stub_place(JitCtx *c, int i, bool falls)
{
    JitBuf *b = &c->b;
    JitBranchStub *st = &c->stubs[i];
    if ((size_t)(b->end - b->p) < (size_t)st->len + 5u) {
        b->overflow = true;
        return false;
    }
    if (!st->field || !jit_patch_rel32(st->field, b->p, false)) {
        b->error = true;
        return false;
    }
    memcpy(b->p, c->stub_code + st->off, st->len);
    b->p += st->len;
    if (!falls) {
        jit_fixup(c, jit_jmp32(b, NULL), st->label);
    }
    st->field = NULL;   /* placed */
    return true;
}

void jit_branch_stubs_before_label(JitCtx *c, int label)
{
    int last = -1;
    for (int i = 0; i < c->nstubs; i++) {
        if (c->stubs[i].field && c->stubs[i].label == label) {
            last = i;
        }
    }
    for (int i = 0; i <= last; i++) {
        if (c->stubs[i].field && c->stubs[i].label == label && !jit_branch_stub_place(c, i, i == last)) {
            return;
        }
    }
}

void jit_branch_stubs_finish(JitCtx *c)
{
    for (int i = 0; i < c->nstubs; i++) {
        if (c->stubs[i].field && !jit_branch_stub_place(c, i, false)) {
            break;
        }
    }
    c->nstubs = 0;
    c->stub_bytes = 0;
}
