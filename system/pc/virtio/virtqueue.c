/*
 * Split virtqueues (virtio 1.2 §2.7) in guest RAM. The driver controls every index and address in the
 * rings, so each one is checked: ring entries against the queue size, buffers through machine_ram_ptr
 * with their length, and chains against the number of descriptors they can possibly hold (a longer chain
 * is a loop). A violation breaks the device (virtio_error) instead of touching anything outside RAM.
 */
#include "system/pc/virtio/virtio.h"

#include <string.h>

typedef struct VirtqDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} VirtqDesc;

bool virtq_ready(const VirtioDevice *vdev, const VirtQueue *vq)
{
    return virtio_driver_ok(vdev) && vq->enabled;
}

/* The avail ring's idx field, read with acquire so ring entries read after it are the driver's. */
static bool virtq_avail_idx(VirtioDevice *vdev, VirtQueue *vq, uint16_t *idx)
{
    uint16_t *avail = machine_ram_ptr(vdev->machine, vq->avail, 4 + 2ull * vq->size);
    if (!avail) {
        return false;
    }
    *idx = __atomic_load_n(&avail[1], __ATOMIC_ACQUIRE);
    return true;
}

bool virtq_has_avail(VirtioDevice *vdev, VirtQueue *vq)
{
    uint16_t idx;
    return virtq_ready(vdev, vq) && virtq_avail_idx(vdev, vq, &idx) && idx != vq->last_avail;
}

void virtq_elem_free(VirtqElem *elem)
{
    if (elem) {
        g_free(elem->out);
        g_free(elem->in);
        g_free(elem->in_gpa);
        g_free(elem);
    }
}

typedef struct ChainBuilder {
    VirtqElem *elem;
    unsigned out_cap, in_cap;
    unsigned count;          /* buffers so far, indirect ones included */
    unsigned max;            /* the most a chain may hold */
} ChainBuilder;

/*
 * Chain limits. §2.7.5.3.1 forbids chains longer than the queue size, but Linux sizes its indirect tables by
 * the device's seg_max (virtio-blk: 254 + 2) even after shrinking its ring when memory is short, so we
 * accept up to VIRTQ_CHAIN_MAX descriptors whatever the queue size: enough for every limit our devices
 * advertise, and a bound on what one request costs us (an indirect table filling guest RAM would
 * otherwise make an iovec array of millions of entries). At most 4 GiB in a whole chain (§2.7.5.2), which
 * also keeps the devices' size arithmetic far from overflow.
 */
#define VIRTQ_CHAIN_MAX       1024
#define VIRTQ_CHAIN_MAX_BYTES (1ull << 32)

/* Add one buffer to the chain; false (device broken) if it is not in RAM or out of order. */
static bool virtq_add_buffer(VirtioDevice *vdev, ChainBuilder *b, const VirtqDesc *d)
{
    VirtqElem *e = b->elem;
    void *host = machine_ram_ptr(vdev->machine, d->addr, d->len);
    if (!host) {
        virtio_error(vdev, "descriptor buffer 0x%llx+0x%x is not in RAM", (unsigned long long)d->addr, d->len);
        return false;
    }
    if (++b->count > b->max) {
        virtio_error(vdev, "descriptor chain longer than %u descriptors", b->max);
        return false;
    }
    if (e->out_len + e->in_len + d->len > VIRTQ_CHAIN_MAX_BYTES) {
        virtio_error(vdev, "descriptor chain longer than 4 GiB");
        return false;
    }
    if (d->len == 0) {
        return true;
    }
    if (d->flags & VIRTQ_DESC_F_WRITE) {
        if (e->in_num == b->in_cap) {
            b->in_cap = b->in_cap ? b->in_cap * 2 : 4;
            e->in = g_renew(struct iovec, e->in, b->in_cap);
            e->in_gpa = g_renew(uint64_t, e->in_gpa, b->in_cap);
        }
        e->in[e->in_num] = (struct iovec){ host, d->len };
        e->in_gpa[e->in_num++] = d->addr;
        e->in_len += d->len;
    } else {
        if (e->in_num) {
            virtio_error(vdev, "device-readable descriptor after a device-writable one");
            return false;
        }
        if (e->out_num == b->out_cap) {
            b->out_cap = b->out_cap ? b->out_cap * 2 : 4;
            e->out = g_renew(struct iovec, e->out, b->out_cap);
        }
        e->out[e->out_num++] = (struct iovec){ host, d->len };
        e->out_len += d->len;
    }
    return true;
}

/* Follow a chain through a descriptor table of n entries from index i; at most n descriptors. */
static bool virtq_walk(VirtioDevice *vdev, ChainBuilder *b, const VirtqDesc *table, unsigned n, unsigned i,
                       bool indirect)
{
    for (unsigned count = 0;; count++) {
        if (count >= n) {
            virtio_error(vdev, "descriptor chain longer than its table (%u entries): a loop", n);
            return false;
        }
        VirtqDesc d;
        memcpy(&d, &table[i], sizeof(d));   /* once: the driver may change it under us */
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (indirect || !virtio_has_feature(vdev, VIRTIO_RING_F_INDIRECT_DESC) ||
                (d.flags & VIRTQ_DESC_F_NEXT) || d.len == 0 || d.len % sizeof(VirtqDesc)) {
                virtio_error(vdev, "bad indirect descriptor (flags 0x%x, len 0x%x)", d.flags, d.len);
                return false;
            }
            const VirtqDesc *sub = machine_ram_ptr(vdev->machine, d.addr, d.len);
            if (!sub) {
                virtio_error(vdev, "indirect table 0x%llx+0x%x is not in RAM", (unsigned long long)d.addr,
                             d.len);
                return false;
            }
            return virtq_walk(vdev, b, sub, d.len / sizeof(VirtqDesc), 0, true);
        }
        if (!virtq_add_buffer(vdev, b, &d)) {
            return false;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
            return true;
        }
        if (d.next >= n) {
            virtio_error(vdev, "descriptor next index %u beyond table of %u", d.next, n);
            return false;
        }
        i = d.next;
    }
}

int virtq_pop(VirtioDevice *vdev, VirtQueue *vq, VirtqElem **out)
{
    *out = NULL;
    if (!virtq_ready(vdev, vq)) {
        return 0;
    }
    Machine *m = vdev->machine;
    uint16_t avail_idx;
    uint16_t *avail = machine_ram_ptr(m, vq->avail, 4 + 2ull * vq->size);
    const VirtqDesc *table = machine_ram_ptr(m, vq->desc, 16ull * vq->size);
    if (!avail || !table || !virtq_avail_idx(vdev, vq, &avail_idx)) {
        virtio_error(vdev, "queue %u rings are not in RAM", vq->index);
        return -1;
    }
    uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
    if (pending == 0) {
        return 0;
    }
    if (pending > vq->size) {
        virtio_error(vdev, "queue %u: avail idx %u runs %u entries ahead of a ring of %u", vq->index,
                     avail_idx, pending, vq->size);
        return -1;
    }
    uint16_t head = __atomic_load_n(&avail[2 + vq->last_avail % vq->size], __ATOMIC_RELAXED);
    if (head >= vq->size) {
        virtio_error(vdev, "queue %u: avail ring names descriptor %u of %u", vq->index, head, vq->size);
        return -1;
    }
    ChainBuilder b = { .elem = g_new0(VirtqElem, 1),
                       .max = vq->size > VIRTQ_CHAIN_MAX ? vq->size : VIRTQ_CHAIN_MAX };
    b.elem->head = head;
    b.elem->reset_count = vdev->reset_count;
    if (!virtq_walk(vdev, &b, table, vq->size, head, false)) {
        virtq_elem_free(b.elem);
        return -1;
    }
    vq->last_avail++;
    *out = b.elem;
    return 1;
}

void virtq_push(VirtioDevice *vdev, VirtQueue *vq, VirtqElem *elem, uint32_t len)
{
    Machine *m = vdev->machine;
    if (elem->reset_count != vdev->reset_count || !virtq_ready(vdev, vq)) {
        virtq_elem_free(elem);   /* the driver reset the device since: nobody waits for this */
        return;
    }
    if (len > elem->in_len) {
        len = (uint32_t)elem->in_len;
    }
    uint32_t left = len;
    for (unsigned i = 0; i < elem->in_num && left; i++) {
        uint32_t n = elem->in[i].iov_len < left ? (uint32_t)elem->in[i].iov_len : left;
        machine_ram_written(m, elem->in_gpa[i], n);
        left -= n;
    }
    uint8_t *used = machine_ram_ptr(m, vq->used, 4 + 8ull * vq->size);
    if (!used) {
        virtio_error(vdev, "queue %u used ring is not in RAM", vq->index);
        virtq_elem_free(elem);
        return;
    }
    uint32_t slot = vq->used_idx % vq->size;
    uint32_t entry[2] = { elem->head, len };
    memcpy(used + 4 + 8 * slot, entry, sizeof(entry));
    vq->used_idx++;
    /* The entry must be visible before the index that publishes it. */
    __atomic_store_n((uint16_t *)(used + 2), vq->used_idx, __ATOMIC_RELEASE);
    machine_ram_written(m, vq->used + 4 + 8 * slot, 8);
    machine_ram_written(m, vq->used + 2, 2);
    virtq_elem_free(elem);
}

size_t virtq_iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        size_t chunk = iov[i].iov_len - offset;
        if (chunk > len - done) {
            chunk = len - done;
        }
        memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + offset, chunk);
        done += chunk;
        offset = 0;
    }
    return done;
}

size_t virtq_iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        size_t chunk = iov[i].iov_len - offset;
        if (chunk > len - done) {
            chunk = len - done;
        }
        memcpy((uint8_t *)iov[i].iov_base + offset, (const uint8_t *)buf + done, chunk);
        done += chunk;
        offset = 0;
    }
    return done;
}
