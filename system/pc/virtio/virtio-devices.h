/*
 * The virtio PCI devices the machine offers: block (raw image), network (libslirp user networking) and
 * entropy. Create them after pci_host_create and before the vCPUs start (no lock needed then).
 */
#ifndef EMBER_PC_VIRTIO_DEVICES_H
#define EMBER_PC_VIRTIO_DEVICES_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "system/pc/machine.h"
#include "system/pc/pci/pci.h"

/* A raw disk image at path (opened read-only and offered with VIRTIO_BLK_F_RO when readonly). */
bool virtio_blk_create(Machine *m, PciBus *bus, const char *id, const char *path, bool readonly,
                       GError **err);
/* fdatasync every disk (clean shutdown). Any thread. */
void virtio_blk_flush_all(void);

typedef struct VirtioBlkInfo {
    const char *id, *path;   /* owned by the device: valid for the process's life */
    bool readonly;
    uint64_t size;           /* bytes */
} VirtioBlkInfo;
/* Every disk, in creation order (for QMP query-block): a new array that frees its elements; unref it. */
GPtrArray *virtio_blk_list(void);

/* A NIC on libslirp's 10.0.2.0/24 (host 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15); hostfwd entries
   are "tcp::HOSTPORT-:GUESTPORT" (also "tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT", and "udp:..."). */
bool virtio_net_create(Machine *m, PciBus *bus, const char *id, const char *const *hostfwd, GError **err);

/* An entropy source fed from getrandom(). */
bool virtio_rng_create(Machine *m, PciBus *bus, GError **err);

#endif
