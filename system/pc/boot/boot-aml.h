/* A small AML and resource-descriptor writer for the DSDT (see boot-aml.c). */
#ifndef EMBER_PC_BOOT_AML_H
#define EMBER_PC_BOOT_AML_H

#include <glib.h>
#include <stdint.h>

void aml_integer(GByteArray *a, uint64_t v);
void aml_name_integer(GByteArray *a, const char *name, uint64_t v);
uint32_t aml_eisa_id(const char *id);
void aml_name_eisa_id(GByteArray *a, const char *name, const char *id);
void aml_name_buffer(GByteArray *a, const char *name, const uint8_t *data, size_t len);
/* Name(NAME, Package(n) { elems... }) */
void aml_name_byte_package(GByteArray *a, const char *name, const uint8_t *elems, int n);
/* Scope(name) { body } and Device(name) { body }; name is a 4-character segment, "\\" prefix allowed. */
void aml_scope(GByteArray *a, const char *name, const GByteArray *body);
void aml_device(GByteArray *a, const char *name, const GByteArray *body);

/* Resource template pieces for a _CRS buffer */
void aml_res_bus_numbers(GByteArray *a, uint16_t first, uint16_t last);
void aml_res_io_window(GByteArray *a, uint16_t min, uint16_t max);
void aml_res_io_fixed(GByteArray *a, uint16_t base, uint8_t len);
void aml_res_mem32_window(GByteArray *a, uint32_t min, uint32_t max);
void aml_res_end(GByteArray *a);

#endif
