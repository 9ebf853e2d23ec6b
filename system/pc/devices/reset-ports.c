/*
 * Reset registers. Port 0x92: writing bit 0 as 1 (a 0 -> 1 transition) pulses the CPU's reset; bit 1
 * gates A20, which we keep enabled whatever is written (the CPUs never wrap at 1 MiB). Port 0xCF9:
 * setting RST_CPU (bit 2) resets the machine; Linux writes 0x02 then 0x06 (or 0x0E for a full reset).
 * 0xCF9 sits inside the PCI configuration ports; the PCI host registers 0xCF8 alone and leaves it to us.
 */
#include "system/pc/devices/reset-ports.h"

#include "system/pc/iobus.h"

struct ResetPorts {
    Machine *m;
    uint8_t port92, cf9;
};

static uint64_t reset_port92_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)offset;
    (void)size;
    ResetPorts *rp = opaque;
    return rp->port92 & ~1u;
}

static void reset_port92_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)offset;
    (void)size;
    ResetPorts *rp = opaque;
    bool reset = (value & 1) && !(rp->port92 & 1);
    rp->port92 = (value & 0xFF) | 0x02;     /* A20 stays enabled */
    if (reset) {
        rp->port92 &= ~1u;
        machine_request_reset(rp->m, SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static uint64_t reset_cf9_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)offset;
    (void)size;
    ResetPorts *rp = opaque;
    return rp->cf9;
}

static void reset_cf9_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    (void)offset;
    ResetPorts *rp = opaque;
    if (size != 1) {
        machine_log(rp->m, MACHINE_LOG_GUEST_ERRORS, "reset control 0xcf9: %u-byte write ignored", size);
        return;
    }
    rp->cf9 = value & 0x0A;             /* SYS_RST and FULL_RST stick; RST_CPU reads back as 0 */
    if (value & 0x04) {
        rp->cf9 = 0;
        machine_request_reset(rp->m, SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static const IoOps reset_port92_ops = { .read = reset_port92_read, .write = reset_port92_write };
static const IoOps reset_cf9_ops = { .read = reset_cf9_read, .write = reset_cf9_write };

void reset_ports_reset(void *opaque)
{
    ResetPorts *rp = opaque;
    rp->port92 = 0x02;
    rp->cf9 = 0;
}

ResetPorts *reset_ports_create(Machine *m)
{
    ResetPorts *rp = g_new0(ResetPorts, 1);
    rp->m = m;
    reset_ports_reset(rp);
    iobus_add(&m->pio, "port92", 0x92, 1, &reset_port92_ops, rp);
    if (iobus_add(&m->pio, "reset-control", 0xCF9, 1, &reset_cf9_ops, rp) < 0) {
        machine_log(m, MACHINE_LOG_UNIMP, "reset control: port 0xcf9 already claimed");
    }
    return rp;
}
