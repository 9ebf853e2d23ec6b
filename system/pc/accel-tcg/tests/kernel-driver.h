/* Run one multiboot test kernel on a minimal PC with the TCG accelerator (kernel-driver.c). */
#ifndef EMBER_PC_ACCEL_TCG_KERNEL_DRIVER_H
#define EMBER_PC_ACCEL_TCG_KERNEL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { KD_POWEROFF = 0, KD_RESET, KD_TRIPLE_FAULT, KD_HALTED, KD_TIMEOUT, KD_ERROR, KD_STOPPED };

/* Runs the kernel until it powers off (ACPI S5), resets, triple-faults, halts with IF=0 or times out.
   COM1's output goes to out. Returns KD_*; err says why for KD_ERROR. */
int kd_run_kernel(const char *path, uint64_t ram_size, int timeout_ms, char *out, size_t out_len, char *err,
                  size_t err_len);

/* The same with Linux (or any kernel system/pc/boot loads): COM1 is echoed to stdout. With stop_at, the
   run ends (KD_STOPPED) as soon as COM1 has printed that string. */
int kd_run_linux(const char *kernel, const char *initrd, const char *append, const char *stop_at, uint64_t ram_size,
                 int timeout_ms, char *out, size_t out_len, char *err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif
