/*
 * The IR as text, one op per line (-d op, -d op_opt and test failure messages):
 *
 *    ---- 0x401000
 *    add_i64 rax, rax, $0x1
 *    brcond_i32 tmp17, $0x0, ne, L0
 *    call helper_div, ret=tmp20, env, tmp19
 *
 * Op names come from the op table, globals print by name, constants as $0x.., conditions by name.
 */
#include <inttypes.h>
#include <stdio.h>

#include "core/tcg/tcg.h"

static const char *const tcg_exit_names[] = {
    [TCG_EXIT_NONE] = "none", [TCG_EXIT_SYSCALL] = "syscall", [TCG_EXIT_EXCEPTION] = "exception",
    [TCG_EXIT_INTERRUPT] = "interrupt", [TCG_EXIT_HALT] = "halt",
};

static const char *const tcg_memop_names[8] = {"u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64"};

/* Print a temp: env, a global's name, tmpN, or a constant's value. */
static void dump_temp(const TCGContext *s, TCGTemp t, FILE *out)
{
    if (t < 0 || t >= TCG_MAX_TEMPS) {
        fprintf(out, "<bad temp %d>", t);
        return;
    }
    const TCGTempInfo *ti = &s->temps[t];
    switch (ti->kind) {
    case TEMP_ENV:
        fputs("env", out);
        break;
    case TEMP_GLOBAL:
        if (ti->name) {
            fputs(ti->name, out);
        } else {
            fprintf(out, "g%d", t);
        }
        break;
    case TEMP_LOCAL:
        fprintf(out, "tmp%d", t);
        break;
    case TEMP_CONST:
        fprintf(out, "$0x%" PRIx64, ti->value);
        break;
    }
}

static void dump_call(const TCGContext *s, const TCGOp *op, FILE *out)
{
    if (!op->helper) {
        fputs("call <none>", out);
        return;
    }
    fprintf(out, "call %s", op->helper->name);
    if (op->call_ret >= 0) {
        fputs(", ret=", out);
        dump_temp(s, op->call_ret, out);
    }
    for (int i = 0; i < op->helper->nargs; i++) {
        fputs(", ", out);
        dump_temp(s, op->call_args[i], out);
    }
}

/* The constant arguments, printed the way each op means them. */
static void dump_cargs(const TCGOp *op, const TCGOpDef *def, bool first, FILE *out)
{
    const char *sep = first ? "" : ", ";
    switch (op->opc) {
    case INDEX_op_setcond:
    case INDEX_op_movcond:
        fprintf(out, "%s%s", sep, tcg_cond_name((TCGCond)op->cargs[0]));
        return;
    case INDEX_op_brcond:
        fprintf(out, "%s%s, L%" PRIu64, sep, tcg_cond_name((TCGCond)op->cargs[0]), op->cargs[1]);
        return;
    case INDEX_op_set_label:
    case INDEX_op_br:
        fprintf(out, "%sL%" PRIu64, sep, op->cargs[0]);
        return;
    case INDEX_op_ld:
    case INDEX_op_st:
        fprintf(out, "%s%s, +0x%" PRIx64, sep, tcg_memop_names[op->cargs[0] & 7], op->cargs[1]);
        return;
    case INDEX_op_guest_ld:
    case INDEX_op_guest_st:
        fprintf(out, "%s%s", sep, tcg_memop_names[op->cargs[0] & 7]);
        return;
    case INDEX_op_guest_ld128:
    case INDEX_op_guest_st128:
        fprintf(out, "%senv+0x%" PRIx64, sep, op->cargs[0]);
        return;
    case INDEX_op_extract:
    case INDEX_op_sextract:
    case INDEX_op_deposit:
        fprintf(out, "%spos=%" PRIu64 ", len=%" PRIu64, sep, op->cargs[0], op->cargs[1]);
        return;
    case INDEX_op_exit_tb:
        fprintf(out, "%s%s", sep,
                op->cargs[0] < sizeof(tcg_exit_names) / sizeof(tcg_exit_names[0]) ? tcg_exit_names[op->cargs[0]]
                                                                                   : "?");
        return;
    case INDEX_op_goto_tb:
        fprintf(out, "%s%" PRIu64, sep, op->cargs[0]);
        return;
    default:
        for (int i = 0; i < def->nb_cargs; i++) {
            fprintf(out, "%s$0x%" PRIx64, sep, op->cargs[i]);
            sep = ", ";
        }
        return;
    }
}

void tcg_dump_ops(const TCGContext *s, FILE *out)
{
    for (int n = 0; n < s->nb_ops; n++) {
        const TCGOp *op = &s->ops[n];
        if (op->opc >= TCG_OP_COUNT) {
            fprintf(out, " <bad opcode %u>\n", op->opc);
            continue;
        }
        const TCGOpDef *def = &tcg_op_defs[op->opc];
        if (op->opc == INDEX_op_insn_start) {
            fprintf(out, " ---- 0x%" PRIx64 "\n", op->cargs[0]);
            continue;
        }
        fputc(' ', out);
        if (op->dead) {
            fputs("(dead) ", out);
        }
        if (op->opc == INDEX_op_call) {
            dump_call(s, op, out);
            fputc('\n', out);
            continue;
        }
        int ntemps = def->nb_oargs + def->nb_iargs;
        /* Ops with values carry a width; pure control flow does not. */
        if (ntemps > 0 && op->opc != INDEX_op_st && op->opc != INDEX_op_guest_st &&
            op->opc != INDEX_op_guest_ld128 && op->opc != INDEX_op_guest_st128) {
            fprintf(out, "%s_%s ", def->name, op->type == TCG_I32 ? "i32" : "i64");
        } else {
            fprintf(out, "%s ", def->name);
        }
        for (int i = 0; i < ntemps; i++) {
            if (i) {
                fputs(", ", out);
            }
            dump_temp(s, op->args[i], out);
        }
        dump_cargs(op, def, ntemps == 0, out);
        fputc('\n', out);
    }
}
