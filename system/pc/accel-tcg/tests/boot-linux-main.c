/*
 * A manual check, not a test: boot a Linux kernel on the TCG accelerator with the test driver's minimal
 * machine (one vCPU, the PC devices, no PCI) and print COM1. Usage:
 *   boot-linux KERNEL [INITRD [CMDLINE [SECONDS]]]
 */
#include <stdio.h>
#include <stdlib.h>

#include "system/pc/accel-tcg/tests/kernel-driver.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: boot-linux KERNEL [INITRD [CMDLINE [SECONDS]]]\n");
        return 2;
    }
    static char out[1 << 20], err[512];
    const char *cmdline = argc > 3 ? argv[3] : "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1";
    int seconds = argc > 4 ? atoi(argv[4]) : 60;
    int r = kd_run_linux(argv[1], argc > 2 ? argv[2] : NULL, cmdline, NULL, 512ull << 20, seconds * 1000, out,
                         sizeof(out), err, sizeof(err));
    fprintf(stderr, "\nboot-linux: result %d %s\n", r, err);
    return r == KD_POWEROFF ? 0 : 1;
}
