/* The call records of every x86 helper, expanded from the helper .def files. */
#include "core/target-x86/helpers.h"

#define DEF_HELPER_0(name, ...) HELPER_INFO_0(name, __VA_ARGS__)
#define DEF_HELPER_1(name, ...) HELPER_INFO_1(name, __VA_ARGS__)
#define DEF_HELPER_2(name, ...) HELPER_INFO_2(name, __VA_ARGS__)
#define DEF_HELPER_3(name, ...) HELPER_INFO_3(name, __VA_ARGS__)
#define DEF_HELPER_4(name, ...) HELPER_INFO_4(name, __VA_ARGS__)
#define DEF_HELPER_5(name, ...) HELPER_INFO_5(name, __VA_ARGS__)
#include "core/target-x86/helpers-cpu.def"
#include "core/target-x86/helpers-int.def"
#include "core/target-x86/helpers-ctl.def"
#include "core/target-x86/helpers-vec.def"
#include "core/target-x86/helpers-sys.def"
