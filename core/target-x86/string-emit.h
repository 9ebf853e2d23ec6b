/*
 * The string-instruction emitters other families may need: MOVSD and CMPSD are each two instructions
 * under one Zydis mnemonic (the string forms A5/A7 and the SSE2 scalar-double forms F2 0F 10/11, F2 0F C2),
 * so the one table row per mnemonic must dispatch on the encoding.
 */
#ifndef EMBER_X86_STRING_EMIT_H
#define EMBER_X86_STRING_EMIT_H

#include "core/target-x86/translate.h"

/* True for the string form (legacy one-byte opcode map) of MOVSD or CMPSD. */
bool string_is_legacy_form(const DisasContext *dc);

void string_emit_movs(DisasContext *dc);
void string_emit_stos(DisasContext *dc);
void string_emit_lods(DisasContext *dc);
void string_emit_cmps(DisasContext *dc);
void string_emit_scas(DisasContext *dc);

/* The MOVSD/CMPSD rows: the string form here, the SSE2 form through x86_emit_hostexec. */
void string_emit_movsd(DisasContext *dc);
void string_emit_cmpsd(DisasContext *dc);

#endif
