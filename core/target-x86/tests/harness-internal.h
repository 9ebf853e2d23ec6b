/* Pieces shared by the harness's own files (not for tests). */
#ifndef EMBER_X86_TESTS_HARNESS_INTERNAL_H
#define EMBER_X86_TESTS_HARNESS_INTERNAL_H

#include "core/target-x86/tests/harness.h"

/* Seconds a run may take before it is reported as HARNESS_TIMEOUT. */
extern unsigned harness_time_limit;

/* Longest tested code: the code region less room for the stop sequence. */
#define HARNESS_CODE_MAX (HARNESS_CODE_SIZE - 32)

/* Map the fixed code region (RWX, private) and memory region (shared with forked children) once.
   0, or a negative errno with a message in err. */
int harness_regions_init(char *err, size_t errlen);

/* Check the parts of an input both runners need valid; 0, or -EINVAL with a message in out->error. */
int harness_validate_input(size_t len, const HarnessState *in, HarnessResult *out);

/* Start a result: everything cleared, status HARNESS_ERROR until a runner says otherwise. */
void harness_result_clear(HarnessResult *out);

#endif
