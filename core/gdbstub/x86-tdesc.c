/*
 * The x86-64 target description gdb reads through qXfer:features:read. The registers are numbered in the
 * order they appear here (the order of 'g' packets too): the core set, SSE, orig_rax, the segment bases and
 * the upper halves of the AVX registers, which gdb joins with xmm0-15 into its $ymm0-15.
 */
#include <string.h>

#include "core/gdbstub/rsp.h"

#define CORE_REG(name, size, type) "<reg name=\"" name "\" bitsize=\"" #size "\" type=\"" type "\"/>"
#define FLOAT_CTL(name) "<reg name=\"" name "\" bitsize=\"32\" type=\"int\" group=\"float\"/>"

static const char x86_64_core_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE feature SYSTEM \"gdb-target.dtd\">"
    "<feature name=\"org.gnu.gdb.i386.core\">"
    "<flags id=\"i386_eflags\" size=\"4\">"
    "<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
    "<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
    "<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
    "<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
    "<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
    "<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
    "<field name=\"ID\" start=\"21\" end=\"21\"/></flags>"
    CORE_REG("rax", 64, "int64") CORE_REG("rbx", 64, "int64") CORE_REG("rcx", 64, "int64")
    CORE_REG("rdx", 64, "int64") CORE_REG("rsi", 64, "int64") CORE_REG("rdi", 64, "int64")
    CORE_REG("rbp", 64, "data_ptr") CORE_REG("rsp", 64, "data_ptr")
    CORE_REG("r8", 64, "int64") CORE_REG("r9", 64, "int64") CORE_REG("r10", 64, "int64")
    CORE_REG("r11", 64, "int64") CORE_REG("r12", 64, "int64") CORE_REG("r13", 64, "int64")
    CORE_REG("r14", 64, "int64") CORE_REG("r15", 64, "int64")
    CORE_REG("rip", 64, "code_ptr") CORE_REG("eflags", 32, "i386_eflags")
    CORE_REG("cs", 32, "int32") CORE_REG("ss", 32, "int32") CORE_REG("ds", 32, "int32")
    CORE_REG("es", 32, "int32") CORE_REG("fs", 32, "int32") CORE_REG("gs", 32, "int32")
    CORE_REG("st0", 80, "i387_ext") CORE_REG("st1", 80, "i387_ext") CORE_REG("st2", 80, "i387_ext")
    CORE_REG("st3", 80, "i387_ext") CORE_REG("st4", 80, "i387_ext") CORE_REG("st5", 80, "i387_ext")
    CORE_REG("st6", 80, "i387_ext") CORE_REG("st7", 80, "i387_ext")
    FLOAT_CTL("fctrl") FLOAT_CTL("fstat") FLOAT_CTL("ftag") FLOAT_CTL("fiseg")
    FLOAT_CTL("fioff") FLOAT_CTL("foseg") FLOAT_CTL("fooff") FLOAT_CTL("fop")
    "</feature>";

#define XMM(n) "<reg name=\"xmm" #n "\" bitsize=\"128\" type=\"vec128\"/>"
static const char x86_64_sse_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE feature SYSTEM \"gdb-target.dtd\">"
    "<feature name=\"org.gnu.gdb.i386.sse\">"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
    "<union id=\"vec128\">"
    "<field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
    "<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
    "<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
    "<field name=\"uint128\" type=\"uint128\"/></union>"
    "<flags id=\"i386_mxcsr\" size=\"4\">"
    "<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
    "<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
    "<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
    "<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
    "<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/></flags>"
    XMM(0) XMM(1) XMM(2) XMM(3) XMM(4) XMM(5) XMM(6) XMM(7)
    XMM(8) XMM(9) XMM(10) XMM(11) XMM(12) XMM(13) XMM(14) XMM(15)
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>"
    "</feature>";

static const char x86_64_linux_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE feature SYSTEM \"gdb-target.dtd\">"
    "<feature name=\"org.gnu.gdb.i386.linux\">"
    "<reg name=\"orig_rax\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "</feature>";

static const char x86_64_segments_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE feature SYSTEM \"gdb-target.dtd\">"
    "<feature name=\"org.gnu.gdb.i386.segments\">"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
    "</feature>";

#define YMMH(n) "<reg name=\"ymm" #n "h\" bitsize=\"128\" type=\"uint128\"/>"
static const char x86_64_avx_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE feature SYSTEM \"gdb-target.dtd\">"
    "<feature name=\"org.gnu.gdb.i386.avx\">"
    YMMH(0) YMMH(1) YMMH(2) YMMH(3) YMMH(4) YMMH(5) YMMH(6) YMMH(7)
    YMMH(8) YMMH(9) YMMH(10) YMMH(11) YMMH(12) YMMH(13) YMMH(14) YMMH(15)
    "</feature>";

static const char x86_64_target_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target><architecture>i386:x86-64</architecture><osabi>GNU/Linux</osabi>"
    "<xi:include href=\"64bit-core.xml\"/><xi:include href=\"64bit-sse.xml\"/>"
    "<xi:include href=\"64bit-linux.xml\"/><xi:include href=\"64bit-segments.xml\"/>"
    "<xi:include href=\"64bit-avx.xml\"/></target>";

static const struct {
    const char *annex;
    const char *xml;
} x86_64_tdesc_files[] = {
    {"target.xml", x86_64_target_xml},     {"64bit-core.xml", x86_64_core_xml},
    {"64bit-sse.xml", x86_64_sse_xml},     {"64bit-linux.xml", x86_64_linux_xml},
    {"64bit-segments.xml", x86_64_segments_xml}, {"64bit-avx.xml", x86_64_avx_xml},
};

const char *gdb_x86_64_tdesc(void *opaque, const char *annex)
{
    (void)opaque;
    for (size_t i = 0; i < sizeof(x86_64_tdesc_files) / sizeof(x86_64_tdesc_files[0]); i++) {
        if (strcmp(annex, x86_64_tdesc_files[i].annex) == 0) {
            return x86_64_tdesc_files[i].xml;
        }
    }
    return NULL;
}
