/*
 * Device dispatch: the one place port I/O and MMIO reach devices, whichever accelerator runs the CPU.
 * A device registers a range with an ops table; an access finds the range and calls it with the offset
 * inside the range. Accesses nobody claims read as all ones and drop writes (as on a PC bus), and are
 * logged with -d guest_errors. Callers hold the machine lock (machine_lock()).
 */
#ifndef EMBER_PC_IOBUS_H
#define EMBER_PC_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct IoOps {
    /* size is 1, 2, 4 or 8; offset is relative to the range's base. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
} IoOps;

typedef struct IoRange {
    const char *name;
    uint64_t base, size;
    const IoOps *ops;
    void *opaque;
} IoRange;

typedef struct IoBus {
    const char *name;        /* "pio" or "mmio", for messages */
    IoRange *ranges;         /* sorted by base, never overlapping */
    unsigned count, capacity;
    void (*log_unassigned)(void *opaque, const char *bus, bool write, uint64_t addr, unsigned size,
                           uint64_t value);
    void *log_opaque;
} IoBus;

void iobus_init(IoBus *bus, const char *name);
void iobus_destroy(IoBus *bus);

/* Claim [base, base+size). Returns 0, or -EEXIST if it overlaps a claimed range, -EINVAL if empty. */
int iobus_add(IoBus *bus, const char *name, uint64_t base, uint64_t size, const IoOps *ops, void *opaque);
/* Release the range that starts at base (PCI BARs move when the guest reprograms them). */
int iobus_remove(IoBus *bus, uint64_t base);
/* The range holding addr, or NULL. */
const IoRange *iobus_find(const IoBus *bus, uint64_t addr);

uint64_t iobus_read(IoBus *bus, uint64_t addr, unsigned size);
void iobus_write(IoBus *bus, uint64_t addr, uint64_t value, unsigned size);

#endif
