/*
 * Just enough AML (ACPI 6.x, section 20) for our DSDT: names with integers, EISA ids, buffers and
 * byte packages, scopes and devices. Each builder appends to a GByteArray; scopes and devices wrap
 * a body built first, so their PkgLength is known when they are written.
 */
#include "system/pc/boot/boot-aml.h"

#include <string.h>

enum {
    AML_ZERO = 0x00, AML_ONE = 0x01, AML_NAME = 0x08, AML_BYTE = 0x0a, AML_WORD = 0x0b, AML_DWORD = 0x0c,
    AML_QWORD = 0x0e, AML_SCOPE = 0x10, AML_BUFFER = 0x11, AML_PACKAGE = 0x12, AML_EXT = 0x5b,
    AML_EXT_DEVICE = 0x82, AML_ROOT = 0x5c,
};

static void put(GByteArray *a, const void *p, size_t n) { g_byte_array_append(a, p, (guint)n); }
static void put8(GByteArray *a, uint8_t v) { put(a, &v, 1); }

/* A name: "\\" for the root, then 4-character segments ("_SB_"); dotted paths are not needed here. */
static void aml_name_string(GByteArray *a, const char *name)
{
    if (*name == '\\') {
        put8(a, AML_ROOT);
        name++;
    }
    g_assert(strlen(name) == 4);
    put(a, name, 4);
}

/*
 * PkgLength counts itself and what follows: one byte up to 63, else a lead byte holding the low
 * nibble and the count of following bytes, then the rest 8 bits at a time.
 */
static void aml_pkg_length(GByteArray *a, size_t body)
{
    if (body + 1 < 64) {
        put8(a, (uint8_t)(body + 1));
        return;
    }
    int extra = body + 2 < (1u << 12) ? 1 : body + 3 < (1u << 20) ? 2 : 3;
    size_t total = body + 1 + (size_t)extra;
    put8(a, (uint8_t)((extra << 6) | (total & 0xf)));
    for (int i = 0; i < extra; i++) {
        put8(a, (uint8_t)(total >> (4 + 8 * i)));
    }
}

void aml_integer(GByteArray *a, uint64_t v)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++) {
        le[i] = (uint8_t)(v >> (8 * i));
    }
    if (v == 0 || v == 1) {
        put8(a, v ? AML_ONE : AML_ZERO);
    } else if (v <= 0xff) {
        put8(a, AML_BYTE);
        put(a, le, 1);
    } else if (v <= 0xffff) {
        put8(a, AML_WORD);
        put(a, le, 2);
    } else if (v <= 0xffffffffull) {
        put8(a, AML_DWORD);
        put(a, le, 4);
    } else {
        put8(a, AML_QWORD);
        put(a, le, 8);
    }
}

void aml_name_integer(GByteArray *a, const char *name, uint64_t v)
{
    put8(a, AML_NAME);
    aml_name_string(a, name);
    aml_integer(a, v);
}

/* EisaId("PNP0A03"): three letters in 5 bits each, then four hex digits, stored big-endian. */
uint32_t aml_eisa_id(const char *id)
{
    g_assert(strlen(id) == 7);
    uint16_t vendor = (uint16_t)(((id[0] - '@') & 0x1f) << 10 | ((id[1] - '@') & 0x1f) << 5 |
                                 ((id[2] - '@') & 0x1f));
    uint16_t product = (uint16_t)g_ascii_strtoull(id + 3, NULL, 16);
    return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xff) << 8 | (uint32_t)(product >> 8) << 16 |
           (uint32_t)(product & 0xff) << 24;
}

void aml_name_eisa_id(GByteArray *a, const char *name, const char *id)
{
    put8(a, AML_NAME);
    aml_name_string(a, name);
    uint32_t v = aml_eisa_id(id);
    put8(a, AML_DWORD);
    for (int i = 0; i < 4; i++) {
        put8(a, (uint8_t)(v >> (8 * i)));
    }
}

void aml_name_buffer(GByteArray *a, const char *name, const uint8_t *data, size_t len)
{
    put8(a, AML_NAME);
    aml_name_string(a, name);
    GByteArray *body = g_byte_array_new();
    aml_integer(body, len);
    put(body, data, len);
    put8(a, AML_BUFFER);
    aml_pkg_length(a, body->len);
    put(a, body->data, body->len);
    g_byte_array_free(body, TRUE);
}

void aml_name_byte_package(GByteArray *a, const char *name, const uint8_t *elems, int n)
{
    put8(a, AML_NAME);
    aml_name_string(a, name);
    GByteArray *body = g_byte_array_new();
    put8(body, (uint8_t)n);
    for (int i = 0; i < n; i++) {
        /* Always BytePrefix form, so every element has the same shape whatever its value. */
        put8(body, AML_BYTE);
        put8(body, elems[i]);
    }
    put8(a, AML_PACKAGE);
    aml_pkg_length(a, body->len);
    put(a, body->data, body->len);
    g_byte_array_free(body, TRUE);
}

static void aml_wrap(GByteArray *a, const uint8_t *op, size_t oplen, const char *name, const GByteArray *body)
{
    GByteArray *inner = g_byte_array_new();
    aml_name_string(inner, name);
    put(inner, body->data, body->len);
    put(a, op, oplen);
    aml_pkg_length(a, inner->len);
    put(a, inner->data, inner->len);
    g_byte_array_free(inner, TRUE);
}

void aml_scope(GByteArray *a, const char *name, const GByteArray *body)
{
    static const uint8_t op[] = { AML_SCOPE };
    aml_wrap(a, op, sizeof(op), name, body);
}

void aml_device(GByteArray *a, const char *name, const GByteArray *body)
{
    static const uint8_t op[] = { AML_EXT, AML_EXT_DEVICE };
    aml_wrap(a, op, sizeof(op), name, body);
}

/* Resource descriptors (ACPI 6.x section 6.4) */

/* Word/DWord address space descriptors share their first bytes: type, general and type flags. */
enum { RES_WORD_ADDR = 0x88, RES_DWORD_ADDR = 0x87, RES_IO = 0x47, RES_END = 0x79 };
enum { ADDR_MEMORY = 0, ADDR_IO = 1, ADDR_BUS = 2 };
enum { ADDR_MIN_FIXED = 1u << 2, ADDR_MAX_FIXED = 1u << 3 };   /* bit 0 clear: the bridge produces it */

static void res_word(GByteArray *a, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max)
{
    uint8_t d[16] = { RES_WORD_ADDR, 13, 0, type, ADDR_MIN_FIXED | ADDR_MAX_FIXED, type_flags };
    uint16_t fields[] = { 0, min, max, 0, (uint16_t)(max - min + 1) };   /* granularity .. length */
    for (int i = 0; i < 5; i++) {
        d[6 + 2 * i] = (uint8_t)fields[i];
        d[7 + 2 * i] = (uint8_t)(fields[i] >> 8);
    }
    put(a, d, sizeof(d));
}

void aml_res_bus_numbers(GByteArray *a, uint16_t first, uint16_t last) { res_word(a, ADDR_BUS, 0, first, last); }

void aml_res_io_window(GByteArray *a, uint16_t min, uint16_t max)
{
    res_word(a, ADDR_IO, 0x3, min, max);   /* both ISA and non-ISA ranges */
}

void aml_res_io_fixed(GByteArray *a, uint16_t base, uint8_t len)
{
    uint8_t d[8] = { RES_IO, 1, (uint8_t)base, (uint8_t)(base >> 8), (uint8_t)base, (uint8_t)(base >> 8), 1, len };
    put(a, d, sizeof(d));
}

void aml_res_mem32_window(GByteArray *a, uint32_t min, uint32_t max)
{
    uint8_t d[26] = { RES_DWORD_ADDR, 23, 0, ADDR_MEMORY, ADDR_MIN_FIXED | ADDR_MAX_FIXED, 0x1 /* read/write */ };
    uint32_t fields[] = { 0, min, max, 0, max - min + 1 };
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 4; j++) {
            d[6 + 4 * i + j] = (uint8_t)(fields[i] >> (8 * j));
        }
    }
    put(a, d, sizeof(d));
}

void aml_res_end(GByteArray *a)
{
    uint8_t d[2] = { RES_END, 0 };   /* checksum 0: "treat as if it summed to zero" */
    put(a, d, sizeof(d));
}
