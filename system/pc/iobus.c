/* Device dispatch over sorted, non-overlapping ranges (see iobus.h). */
#include "system/pc/iobus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void iobus_init(IoBus *bus, const char *name)
{
    memset(bus, 0, sizeof(*bus));
    bus->name = name;
}

void iobus_destroy(IoBus *bus)
{
    free(bus->ranges);
    bus->ranges = NULL;
    bus->count = bus->capacity = 0;
}

/* Index of the first range whose end is above addr (binary search; ranges are sorted and disjoint). */
static unsigned iobus_lower_bound(const IoBus *bus, uint64_t addr)
{
    unsigned lo = 0, hi = bus->count;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        const IoRange *r = &bus->ranges[mid];
        if (r->base + r->size - 1 < addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const IoRange *iobus_find(const IoBus *bus, uint64_t addr)
{
    unsigned i = iobus_lower_bound(bus, addr);
    if (i < bus->count && bus->ranges[i].base <= addr) {
        return &bus->ranges[i];
    }
    return NULL;
}

int iobus_add(IoBus *bus, const char *name, uint64_t base, uint64_t size, const IoOps *ops, void *opaque)
{
    if (size == 0 || base + size - 1 < base) {
        return -EINVAL;
    }
    unsigned i = iobus_lower_bound(bus, base);
    if (i < bus->count && bus->ranges[i].base <= base + size - 1) {
        return -EEXIST;
    }
    if (bus->count == bus->capacity) {
        unsigned cap = bus->capacity ? bus->capacity * 2 : 16;
        IoRange *grown = realloc(bus->ranges, cap * sizeof(*grown));
        if (!grown) {
            return -ENOMEM;
        }
        bus->ranges = grown;
        bus->capacity = cap;
    }
    memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->count - i) * sizeof(IoRange));
    bus->ranges[i] = (IoRange){ .name = name, .base = base, .size = size, .ops = ops, .opaque = opaque };
    bus->count++;
    return 0;
}

int iobus_remove(IoBus *bus, uint64_t base)
{
    unsigned i = iobus_lower_bound(bus, base);
    if (i >= bus->count || bus->ranges[i].base != base) {
        return -ENOENT;
    }
    memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->count - i - 1) * sizeof(IoRange));
    bus->count--;
    return 0;
}

static uint64_t iobus_all_ones(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

uint64_t iobus_read(IoBus *bus, uint64_t addr, unsigned size)
{
    const IoRange *r = iobus_find(bus, addr);
    if (!r || !r->ops->read) {
        if (bus->log_unassigned) {
            bus->log_unassigned(bus->log_opaque, bus->name, false, addr, size, 0);
        }
        return iobus_all_ones(size);
    }
    return r->ops->read(r->opaque, addr - r->base, size) & iobus_all_ones(size);
}

void iobus_write(IoBus *bus, uint64_t addr, uint64_t value, unsigned size)
{
    const IoRange *r = iobus_find(bus, addr);
    if (!r || !r->ops->write) {
        if (bus->log_unassigned) {
            bus->log_unassigned(bus->log_opaque, bus->name, true, addr, size, value);
        }
        return;
    }
    r->ops->write(r->opaque, addr - r->base, value & iobus_all_ones(size), size);
}
