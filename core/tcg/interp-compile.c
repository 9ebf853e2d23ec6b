/*
 * The interpreter backend's compiler: lowers the optimized op list into the compact instruction array of
 * interp.h, with every operand location, branch target and helper descriptor resolved once here.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/interp.h"
#include "core/tcg/tb.h"
#include "core/tcg/tcg-eval.h"

/*
 * The reference interpreter calls helpers through libffi, which works for any host ABI. On x86-64 every
 * helper argument is integer class, so a direct call through a six-argument pointer also works and is
 * faster; tests exercise both. The JIT always calls directly.
 */
bool interp_direct_calls = false;

/* --- libffi descriptors, one per helper, kept for the life of the process --------------------------- */

typedef struct InterpCif {
    ffi_cif cif;
    ffi_type *args[TCG_MAX_HELPER_ARGS];
} InterpCif;

static pthread_mutex_t interp_cif_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *interp_cifs;   /* const TCGHelperInfo * -> InterpCif * */

static ffi_type *interp_ffi_type(TCGArgKind k)
{
    switch (k) {
    case TCG_ARG_VOID: return &ffi_type_void;
    case TCG_ARG_I32: return &ffi_type_uint32;
    case TCG_ARG_I64: return &ffi_type_uint64;
    case TCG_ARG_PTR: return &ffi_type_pointer;
    }
    return NULL;
}

static ffi_cif *interp_cif_get(const TCGHelperInfo *h)
{
    pthread_mutex_lock(&interp_cif_lock);
    if (!interp_cifs) {
        interp_cifs = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    InterpCif *ic = g_hash_table_lookup(interp_cifs, h);
    if (!ic) {
        ic = g_new0(InterpCif, 1);
        bool ok = h->nargs <= TCG_MAX_HELPER_ARGS && interp_ffi_type(h->ret);
        for (int i = 0; ok && i < h->nargs; i++) {
            ic->args[i] = interp_ffi_type(h->args[i]);
            ok = ic->args[i] && h->args[i] != TCG_ARG_VOID;
        }
        if (!ok || ffi_prep_cif(&ic->cif, FFI_DEFAULT_ABI, h->nargs, interp_ffi_type(h->ret), ic->args) != FFI_OK) {
            g_free(ic);
            pthread_mutex_unlock(&interp_cif_lock);
            return NULL;
        }
        g_hash_table_insert(interp_cifs, (gpointer)h, ic);
    }
    pthread_mutex_unlock(&interp_cif_lock);
    return &ic->cif;
}

/* --- operand locations ------------------------------------------------------------------------------ */

typedef struct InterpBuild {
    TCGContext *s;
    InterpCode *code;
    int16_t pool_index[TCG_MAX_TEMPS];   /* const temp -> pool slot + 1 (0: not placed yet) */
} InterpBuild;

static bool interp_temp_ok(const TCGContext *s, TCGTemp t)
{
    return t >= 0 && t < TCG_MAX_TEMPS && (t < s->nb_temps || t == TCG_MAX_TEMPS - 1);
}

static uint32_t interp_loc_in(InterpBuild *b, TCGTemp t)
{
    const TCGTempInfo *ti = &b->s->temps[t];
    switch (ti->kind) {
    case TEMP_ENV:
        return (uint32_t)offsetof(TCGCPU, frame) << 1;
    case TEMP_GLOBAL:
        return ti->env_offset << 1;
    case TEMP_LOCAL:
        return (uint32_t)(offsetof(TCGCPU, frame) + 8 * (size_t)t) << 1;
    case TEMP_CONST:
        if (!b->pool_index[t]) {
            b->code->consts[b->code->nconsts] = ti->value;
            b->pool_index[t] = (int16_t)++b->code->nconsts;
        }
        return (uint32_t)(8 * (b->pool_index[t] - 1)) << 1 | 1;
    }
    return INTERP_NO_LOC;
}

/* Outputs must be writable slots: never a constant or env. */
static uint32_t interp_loc_out(InterpBuild *b, TCGTemp t)
{
    TCGTempKind k = b->s->temps[t].kind;
    return k == TEMP_GLOBAL || k == TEMP_LOCAL ? interp_loc_in(b, t) : INTERP_NO_LOC;
}

/* --- lowering -------------------------------------------------------------------------------------- */

static int interp_lower_call(InterpBuild *b, const TCGOp *op, InterpInsn *in)
{
    const TCGHelperInfo *h = op->helper;
    if (!h || !h->func) {
        return -EINVAL;
    }
    InterpCall *c = &b->code->calls[b->code->ncalls++];
    c->cif = interp_cif_get(h);
    if (!c->cif) {
        return -EINVAL;
    }
    c->func = (void (*)(void))h->func;
    c->direct = interp_direct_calls;
    c->nargs = h->nargs;
    c->ret_i32 = h->ret == TCG_ARG_I32;
    c->ret_loc = INTERP_NO_LOC;
    if (h->ret != TCG_ARG_VOID) {
        if (!interp_temp_ok(b->s, op->call_ret) || (c->ret_loc = interp_loc_out(b, op->call_ret)) == INTERP_NO_LOC) {
            return -EINVAL;
        }
    }
    for (int i = 0; i < h->nargs; i++) {
        if (!interp_temp_ok(b->s, op->call_args[i])) {
            return -EINVAL;
        }
        c->arg_loc[i] = interp_loc_in(b, op->call_args[i]);
    }
    in->code = IC_CALL;
    in->c[0] = (uintptr_t)c;
    return 0;
}

/* Lower one op (not set_label) into *in. Branch targets are label numbers here, resolved later. */
static int interp_lower_op(InterpBuild *b, const TCGOp *op, InterpInsn *in)
{
    const TCGOpDef *def = &tcg_op_defs[op->opc];
    const uint64_t wmask = op->type == TCG_I32 ? 0xffffffffULL : ~0ULL;
    int ntemps = def->nb_oargs + def->nb_iargs;

    if (op->opc == INDEX_op_call) {
        return interp_lower_call(b, op, in);
    }
    for (int i = 0; i < ntemps; i++) {
        if (!interp_temp_ok(b->s, op->args[i])) {
            return -EINVAL;
        }
        in->loc[i] = i < def->nb_oargs ? interp_loc_out(b, op->args[i]) : interp_loc_in(b, op->args[i]);
        if (in->loc[i] == INTERP_NO_LOC) {
            return -EINVAL;
        }
    }
    if (tcg_op_is_pure(op->opc)) {
        in->code = op->opc * 2 + (op->type == TCG_I32 ? 0 : 1);
        in->c[0] = op->cargs[0];
        in->c[1] = op->cargs[1];
        return 0;
    }
    switch (op->opc) {
    case INDEX_op_ld:
        in->code = IC_LD + (op->cargs[0] & 7);
        in->c[0] = op->cargs[1];
        in->c[1] = wmask;
        return 0;
    case INDEX_op_st:
        in->code = IC_ST + (op->cargs[0] & MO_SIZE);
        in->c[0] = op->cargs[1];
        return 0;
    case INDEX_op_guest_ld:
        in->code = IC_GLD + (op->cargs[0] & 7);
        in->c[1] = wmask;
        return 0;
    case INDEX_op_guest_st:
        in->code = IC_GST + (op->cargs[0] & MO_SIZE);
        return 0;
    case INDEX_op_guest_ld128:
    case INDEX_op_guest_st128:
        in->code = op->opc == INDEX_op_guest_ld128 ? IC_GLD128 : IC_GST128;
        in->c[0] = op->cargs[0];
        return 0;
    case INDEX_op_br:
        in->code = IC_BR;
        in->c[0] = op->cargs[0];
        return op->cargs[0] < (uint64_t)b->s->nb_labels ? 0 : -EINVAL;
    case INDEX_op_brcond:
        if (op->cargs[0] > TCG_COND_TSTNE) {
            return -EINVAL;
        }
        in->code = IC_BRCOND + op->cargs[0] * 2 + (op->type == TCG_I32 ? 0 : 1);
        in->c[0] = op->cargs[1];
        return op->cargs[1] < (uint64_t)b->s->nb_labels ? 0 : -EINVAL;
    case INDEX_op_insn_start:
        in->code = IC_INSN_START;
        in->c[0] = op->cargs[0];
        return 0;
    case INDEX_op_goto_tb:
        in->code = IC_GOTO_TB;
        in->c[0] = op->cargs[0];
        return op->cargs[0] < TCG_GOTO_TB_SLOTS ? 0 : -EINVAL;
    case INDEX_op_goto_ptr:
        in->code = IC_GOTO_PTR;
        return 0;
    case INDEX_op_exit_tb:
        in->code = IC_EXIT_TB;
        in->c[0] = op->cargs[0];
        return 0;
    default:
        return -EINVAL;
    }
}

int interp_compile(TCGContext *s, TranslationBlock *tb)
{
    /* Size everything first: one instruction per live op but labels, plus the closing exit. */
    int ninsns = 1, nconsts = 0, ncalls = 0;
    for (int i = 0; i < s->nb_ops; i++) {
        const TCGOp *op = &s->ops[i];
        if (op->dead) {
            continue;
        }
        if (op->opc >= TCG_OP_COUNT) {
            return -EINVAL;
        }
        if (op->opc != INDEX_op_set_label && op->opc != INDEX_op_try_goto_ptr) {
            ninsns++;
        }
        if (op->opc == INDEX_op_call) {
            ncalls++;
            nconsts += TCG_MAX_HELPER_ARGS;
        } else {
            nconsts += tcg_op_defs[op->opc].nb_iargs;
        }
    }
    size_t insn_bytes = sizeof(InterpCode) + (size_t)ninsns * sizeof(InterpInsn);
    size_t total = insn_bytes + (size_t)nconsts * sizeof(uint64_t) + (size_t)ncalls * sizeof(InterpCall);
    InterpCode *code = g_malloc0(total);
    code->consts = (uint64_t *)((char *)code + insn_bytes);
    code->calls = (InterpCall *)(code->consts + nconsts);

    InterpBuild *b = g_new0(InterpBuild, 1);
    b->s = s;
    b->code = code;
    int32_t *label_at = g_new(int32_t, s->nb_labels + 1);
    for (int i = 0; i <= s->nb_labels; i++) {
        label_at[i] = -1;
    }

    int err = 0;
    uint32_t n = 0;
    for (int i = 0; i < s->nb_ops && !err; i++) {
        const TCGOp *op = &s->ops[i];
        if (op->dead) {
            continue;
        }
        if (op->opc == INDEX_op_set_label) {
            if (op->cargs[0] >= (uint64_t)s->nb_labels) {
                err = -EINVAL;
            } else {
                label_at[op->cargs[0]] = (int32_t)n;
            }
            continue;
        }
        if (op->opc == INDEX_op_try_goto_ptr) {
            continue;   /* always declined: the goto_ptr after it looks the block up */
        }
        err = interp_lower_op(b, op, &code->insns[n++]);
    }
    /* A block that falls off its end returns to the loop, which looks up the pc in the state. */
    code->insns[n].code = IC_EXIT_TB;
    code->insns[n++].c[0] = TCG_EXIT_NONE;
    code->ninsns = n;

    for (uint32_t i = 0; i < n && !err; i++) {
        InterpInsn *in = &code->insns[i];
        if (in->code == IC_BR || (in->code >= IC_BRCOND && in->code < IC_CALL)) {
            if (label_at[in->c[0]] < 0) {
                err = -EINVAL;
            } else {
                in->c[0] = (uint64_t)label_at[in->c[0]];
            }
        }
    }
    g_free(label_at);
    g_free(b);
    if (err) {
        g_free(code);
        return err;
    }
    tb->code = code;
    tb->code_size = (uint32_t)total;
    return 0;
}
