/* The process's peak resident memory in kB (VmHWM of /proc/self/status; under an emulator, the emulator's
   own): for guest programs that check that what they made the emulator allocate is given back. */
#ifndef EMBER_GUEST_PEAK_MEMORY_H
#define EMBER_GUEST_PEAK_MEMORY_H

#include <stdio.h>

#include "testsuite/guest/check.h"

static long peak_memory_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) {
            break;
        }
    }
    fclose(f);
    CHECK(kb > 0);
    return kb;
}

/* Print whether the peak stayed below limit_kb (the same line natively and emulated, when it holds), and
   on stderr the peak itself when it did not. */
static void report_peak_memory(long limit_kb)
{
    long kb = peak_memory_kb();
    printf("peak memory below %ld MB: %s\n", limit_kb / 1024, kb < limit_kb ? "yes" : "no");
    if (kb >= limit_kb) {
        fprintf(stderr, "peak memory %ld kB\n", kb);
    }
}

#endif
