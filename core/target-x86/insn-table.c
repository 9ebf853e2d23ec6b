/*
 * The mnemonic table: one row per Zydis mnemonic, naming its emitter and the CPUID feature it needs. The
 * rows live in one .def file per instruction family, all expanded here into this one table.
 */
#include <pthread.h>

#include "core/target-x86/translate.h"

#define INSN(mnemonic, emitter, feature) void emitter(DisasContext *dc);
#include "core/target-x86/insn-int.def"
#include "core/target-x86/insn-ctl.def"
#include "core/target-x86/insn-vec.def"
#undef INSN

static const X86InsnDef x86_insn_rows[] = {
#define INSN(mnemonic, emitter, feature) {ZYDIS_MNEMONIC_##mnemonic, emitter, X86_FEAT_##feature},
#include "core/target-x86/insn-int.def"
#include "core/target-x86/insn-ctl.def"
#include "core/target-x86/insn-vec.def"
#undef INSN
};

/* Indexed by mnemonic, filled on first use. */
static const X86InsnDef *x86_insn_by_mnemonic[ZYDIS_MNEMONIC_MAX_VALUE + 1];
static bool x86_feature_used[X86_FEAT_COUNT];

static void x86_insn_table_init(void)
{
    for (size_t i = 0; i < sizeof(x86_insn_rows) / sizeof(x86_insn_rows[0]); i++) {
        x86_insn_by_mnemonic[x86_insn_rows[i].mnemonic] = &x86_insn_rows[i];
        x86_feature_used[x86_insn_rows[i].feature] = true;
    }
}

static pthread_once_t x86_insn_table_once = PTHREAD_ONCE_INIT;

const X86InsnDef *x86_insn_lookup(ZydisMnemonic m)
{
    pthread_once(&x86_insn_table_once, x86_insn_table_init);
    return (unsigned)m <= ZYDIS_MNEMONIC_MAX_VALUE ? x86_insn_by_mnemonic[m] : NULL;
}

bool x86_feature_implemented(X86Feature f)
{
    pthread_once(&x86_insn_table_once, x86_insn_table_init);
    return f == X86_FEAT_BASE || x86_feature_used[f];
}

size_t x86_insn_table_rows(const X86InsnDef **rows)
{
    *rows = x86_insn_rows;
    return sizeof(x86_insn_rows) / sizeof(x86_insn_rows[0]);
}
