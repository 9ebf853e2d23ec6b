/*
 * Virtio devices over the PCI modern transport (virtio 1.2 §4.1) with split virtqueues (§2.7). A device
 * model (blk, net, rng) supplies its ID, features, configuration bytes and a queue-notify handler; this
 * layer does the PCI function, the capabilities, the common configuration, feature negotiation, status
 * and reset, interrupts (MSI-X or INTx + ISR), and safe access to the rings in guest RAM.
 *
 * Misbehaving drivers (bad ring addresses, descriptor loops, buffers outside RAM, bad queue numbers) put
 * the device in the DEVICE_NEEDS_RESET state: it stops processing until the driver resets it.
 * Everything here runs with the machine lock held.
 */
#ifndef EMBER_PC_VIRTIO_H
#define EMBER_PC_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "system/pc/machine.h"
#include "system/pc/pci/pci.h"

/* Device status (§2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE       1
#define VIRTIO_STATUS_DRIVER            2
#define VIRTIO_STATUS_DRIVER_OK         4
#define VIRTIO_STATUS_FEATURES_OK       8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED            0x80

/* Reserved feature bits (§6) */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

/* Device IDs (§5) */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_RNG     4

#define VIRTIO_PCI_VENDOR        0x1AF4
#define VIRTIO_PCI_DEVICE_BASE   0x1040
#define VIRTIO_NO_VECTOR         0xFFFF

/* Split ring layout (§2.7) */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_MAX_SIZE        32768

/* Where the transport puts things in its memory BAR (BAR 4, 64-bit) and MSI-X (BAR 1). */
#define VIRTIO_PCI_BAR            4
#define VIRTIO_PCI_MSIX_BAR       1
#define VIRTIO_PCI_COMMON_OFFSET  0x0000
#define VIRTIO_PCI_ISR_OFFSET     0x1000
#define VIRTIO_PCI_DEVICE_OFFSET  0x2000
#define VIRTIO_PCI_NOTIFY_OFFSET  0x3000
#define VIRTIO_PCI_REGION_SIZE    0x1000
#define VIRTIO_PCI_BAR_SIZE       0x4000
#define VIRTIO_PCI_NOTIFY_MULTIPLIER 4

/* virtio_pci_cap cfg_type (§4.1.4) */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* Common configuration structure offsets (§4.1.4.3) */
#define VIRTIO_COMMON_DFSELECT      0x00
#define VIRTIO_COMMON_DF            0x04
#define VIRTIO_COMMON_GFSELECT      0x08
#define VIRTIO_COMMON_GF            0x0C
#define VIRTIO_COMMON_MSIX          0x10
#define VIRTIO_COMMON_NUMQ          0x12
#define VIRTIO_COMMON_STATUS        0x14
#define VIRTIO_COMMON_CFGGENERATION 0x15
#define VIRTIO_COMMON_Q_SELECT      0x16
#define VIRTIO_COMMON_Q_SIZE        0x18
#define VIRTIO_COMMON_Q_MSIX        0x1A
#define VIRTIO_COMMON_Q_ENABLE      0x1C
#define VIRTIO_COMMON_Q_NOFF        0x1E
#define VIRTIO_COMMON_Q_DESCLO      0x20
#define VIRTIO_COMMON_Q_DESCHI      0x24
#define VIRTIO_COMMON_Q_AVAILLO     0x28
#define VIRTIO_COMMON_Q_AVAILHI     0x2C
#define VIRTIO_COMMON_Q_USEDLO      0x30
#define VIRTIO_COMMON_Q_USEDHI      0x34
#define VIRTIO_COMMON_SIZE          0x38

typedef struct VirtioDevice VirtioDevice;

typedef struct VirtQueue {
    uint16_t max_size;       /* what the device offers */
    uint16_t size;           /* what the driver chose */
    bool enabled;
    uint16_t msix_vector;
    uint64_t desc, avail, used;   /* guest-physical ring addresses */
    uint16_t last_avail;     /* next avail ring entry to take */
    uint16_t used_idx;       /* next used ring entry to fill */
    unsigned index;
} VirtQueue;

/* One descriptor chain: the driver-readable (out) and device-writable (in) buffers as host pointers. */
typedef struct VirtqElem {
    uint16_t head;
    unsigned out_num, in_num;
    struct iovec *out, *in;
    uint64_t *in_gpa;        /* guest addresses of in[], for machine_ram_written */
    size_t out_len, in_len;  /* total bytes */
    unsigned reset_count;    /* the device's reset count when popped: stale after a reset */
} VirtqElem;

typedef struct VirtioDeviceOps {
    /* The driver notified queue q (vCPU thread, lock held). */
    void (*queue_notify)(VirtioDevice *vdev, unsigned q);
    /* The driver wrote the device-specific configuration (after the bytes changed); may be NULL. */
    void (*config_write)(VirtioDevice *vdev, unsigned offset, unsigned size);
    /* Device reset (driver wrote 0 to status, machine reset): forget queued work. */
    void (*reset)(VirtioDevice *vdev);
    /* DRIVER_OK was set: the device may start using queues (e.g. deliver pending frames). May be NULL. */
    void (*driver_ok)(VirtioDevice *vdev);
} VirtioDeviceOps;

struct VirtioDevice {
    Machine *machine;
    PciDevice *pci;
    const char *name;
    uint16_t device_id;
    uint64_t host_features, guest_features;
    uint32_t dfselect, gfselect;
    uint8_t status;
    uint8_t config_generation;
    uint8_t isr;             /* bit 0: queue interrupt, bit 1: configuration change */
    uint16_t queue_select;
    uint16_t config_vector;
    unsigned nqueues;
    VirtQueue *queues;
    uint8_t *config;         /* device-specific configuration, little-endian */
    unsigned config_len;
    uint8_t *config_wmask;   /* bytes the driver may write (NULL: none) */
    unsigned reset_count;    /* bumped by each reset: completions of older requests are dropped */
    bool broken;
    uint8_t pci_cfg_cap;     /* offset of the VIRTIO_PCI_CAP_PCI_CFG window in config space */
    const VirtioDeviceOps *ops;
    void *opaque;            /* the device model's */
    struct VirtioIoeventfd *ioeventfd;   /* the accelerator's notify fast path (virtio-pci.c) */
};

/* Create the PCI function and the transport. queue_sizes has nqueues entries (powers of two). */
VirtioDevice *virtio_pci_create(Machine *m, PciBus *bus, const char *name, uint16_t device_id,
                                uint16_t pci_class, uint64_t features, unsigned config_len,
                                unsigned nqueues, const uint16_t *queue_sizes,
                                const VirtioDeviceOps *ops, void *opaque);
bool virtio_has_feature(const VirtioDevice *vdev, unsigned bit);
bool virtio_driver_ok(const VirtioDevice *vdev);
/* The device-specific configuration changed behind the driver's back: bump the generation, interrupt. */
void virtio_config_changed(VirtioDevice *vdev);
/* The driver broke the rules: log, set DEVICE_NEEDS_RESET, stop. */
void virtio_error(VirtioDevice *vdev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raise the queue interrupt for vq (respecting VIRTQ_AVAIL_F_NO_INTERRUPT). */
void virtio_notify(VirtioDevice *vdev, VirtQueue *vq);
/* Reset the device (status 0). */
void virtio_reset(VirtioDevice *vdev);
/* Whether queue notifications go to ioeventfds now, and at which guest address the notify region is. */
typedef struct VirtioIoeventfd VirtioIoeventfd;
bool virtio_ioeventfd_active(const VirtioDevice *vdev, uint64_t *notify_base);

/*
 * Split virtqueue: take the next available chain. 1: *elem set (free with virtq_elem_free or push it),
 * 0: none available (or queue not ready), -1: the driver broke the ring (the device is now broken).
 */
int virtq_pop(VirtioDevice *vdev, VirtQueue *vq, VirtqElem **elem);
/* Return a chain to the driver with len bytes written into its in-buffers; frees elem. Does not
   interrupt: call virtio_notify after a batch. A stale elem (popped before a reset) is dropped. */
void virtq_push(VirtioDevice *vdev, VirtQueue *vq, VirtqElem *elem, uint32_t len);
void virtq_elem_free(VirtqElem *elem);
bool virtq_ready(const VirtioDevice *vdev, const VirtQueue *vq);
/* Whether the driver has made buffers available we have not taken. */
bool virtq_has_avail(VirtioDevice *vdev, VirtQueue *vq);

/* Scatter/gather helpers: copy between a flat buffer and iovecs from a byte offset. Return bytes done. */
size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len);
size_t virtq_iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len);

#endif
