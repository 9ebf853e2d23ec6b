/*
 * Helpers are declared once, in a target's .def files:
 *
 *   DEF_HELPER_N(name, flags, ret, arg types...)     N = 0..5 arguments
 *
 * with types void (return only), i32, i64, ptr and env (the CPU state). Including a .def file after
 * defining HELPER_MODE_* expands it into prototypes (HELPER_MODE_PROTO) or into the TCGHelperInfo records
 * the IR call and libffi use (HELPER_MODE_INFO). gen_helper(s, name, ret, args...) emits the call.
 */
#ifndef EMBER_TCG_HELPER_DECL_H
#define EMBER_TCG_HELPER_DECL_H

#include <stdint.h>

#include "core/tcg/tcg.h"

#define HTYPE_void void
#define HTYPE_i32 uint32_t
#define HTYPE_i64 uint64_t
#define HTYPE_ptr void *
#define HTYPE_env HELPER_ENV_TYPE *

#define HKIND_void TCG_ARG_VOID
#define HKIND_i32 TCG_ARG_I32
#define HKIND_i64 TCG_ARG_I64
#define HKIND_ptr TCG_ARG_PTR
#define HKIND_env TCG_ARG_PTR

#define HELPER_PROTO_0(name, flags, ret) HTYPE_##ret helper_##name(void);
#define HELPER_PROTO_1(name, flags, ret, a) HTYPE_##ret helper_##name(HTYPE_##a);
#define HELPER_PROTO_2(name, flags, ret, a, b) HTYPE_##ret helper_##name(HTYPE_##a, HTYPE_##b);
#define HELPER_PROTO_3(name, flags, ret, a, b, c) HTYPE_##ret helper_##name(HTYPE_##a, HTYPE_##b, HTYPE_##c);
#define HELPER_PROTO_4(name, flags, ret, a, b, c, d) \
    HTYPE_##ret helper_##name(HTYPE_##a, HTYPE_##b, HTYPE_##c, HTYPE_##d);
#define HELPER_PROTO_5(name, flags, ret, a, b, c, d, e) \
    HTYPE_##ret helper_##name(HTYPE_##a, HTYPE_##b, HTYPE_##c, HTYPE_##d, HTYPE_##e);

#define HELPER_INFO_N(name, flags, ret, n, ...) \
    const TCGHelperInfo helper_info_##name = {#name, (void *)helper_##name, flags, HKIND_##ret, n, {__VA_ARGS__}};
#define HELPER_INFO_0(name, flags, ret) HELPER_INFO_N(name, flags, ret, 0, TCG_ARG_VOID)
#define HELPER_INFO_1(name, flags, ret, a) HELPER_INFO_N(name, flags, ret, 1, HKIND_##a)
#define HELPER_INFO_2(name, flags, ret, a, b) HELPER_INFO_N(name, flags, ret, 2, HKIND_##a, HKIND_##b)
#define HELPER_INFO_3(name, flags, ret, a, b, c) HELPER_INFO_N(name, flags, ret, 3, HKIND_##a, HKIND_##b, HKIND_##c)
#define HELPER_INFO_4(name, flags, ret, a, b, c, d) \
    HELPER_INFO_N(name, flags, ret, 4, HKIND_##a, HKIND_##b, HKIND_##c, HKIND_##d)
#define HELPER_INFO_5(name, flags, ret, a, b, c, d, e) \
    HELPER_INFO_N(name, flags, ret, 5, HKIND_##a, HKIND_##b, HKIND_##c, HKIND_##d, HKIND_##e)

#define HELPER_EXTERN(name) extern const TCGHelperInfo helper_info_##name;

/* Emit a call: ret is a temp or -1 for void helpers; the arguments are temps. */
#define gen_helper(s, name, ret, ...) tcg_gen_callN((s), &helper_info_##name, (ret), __VA_ARGS__)
#define gen_helper0(s, name, ret) tcg_gen_call((s), &helper_info_##name, (ret), 0, NULL)

#endif
