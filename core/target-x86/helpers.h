/*
 * Every x86 helper's prototype and call record, expanded from the helper .def files (one per
 * instruction family; see core/tcg/helper-decl.h for the row format).
 */
#ifndef EMBER_X86_HELPERS_H
#define EMBER_X86_HELPERS_H

#include "core/target-x86/cpu.h"
#define HELPER_ENV_TYPE CPUX86State
#include "core/tcg/helper-decl.h"
#include "core/tcg/tcg-gen.h"

#define DEF_HELPER_0(name, ...) HELPER_PROTO_0(name, __VA_ARGS__) HELPER_EXTERN(name)
#define DEF_HELPER_1(name, ...) HELPER_PROTO_1(name, __VA_ARGS__) HELPER_EXTERN(name)
#define DEF_HELPER_2(name, ...) HELPER_PROTO_2(name, __VA_ARGS__) HELPER_EXTERN(name)
#define DEF_HELPER_3(name, ...) HELPER_PROTO_3(name, __VA_ARGS__) HELPER_EXTERN(name)
#define DEF_HELPER_4(name, ...) HELPER_PROTO_4(name, __VA_ARGS__) HELPER_EXTERN(name)
#define DEF_HELPER_5(name, ...) HELPER_PROTO_5(name, __VA_ARGS__) HELPER_EXTERN(name)
#include "core/target-x86/helpers-cpu.def"
#include "core/target-x86/helpers-int.def"
#include "core/target-x86/helpers-ctl.def"
#include "core/target-x86/helpers-vec.def"
#include "core/target-x86/helpers-sys.def"
#undef DEF_HELPER_0
#undef DEF_HELPER_1
#undef DEF_HELPER_2
#undef DEF_HELPER_3
#undef DEF_HELPER_4
#undef DEF_HELPER_5

#endif
