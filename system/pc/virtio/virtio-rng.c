/* virtio-rng (virtio 1.2 §5.4): one queue whose writable buffers we fill from the host's getrandom(). */
#include "system/pc/virtio/virtio-devices.h"

#include <errno.h>
#include <sys/random.h>

#include "system/pc/virtio/virtio.h"

#define RNG_QUEUE_SIZE 64
#define RNG_MAX_CHUNK  4096   /* per request: the guest asks again for more */

static size_t rng_fill(void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom((uint8_t *)buf + done, len - done, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        done += (size_t)n;
    }
    return done;
}

static void rng_queue_notify(VirtioDevice *vdev, unsigned q)
{
    VirtQueue *vq = &vdev->queues[q];
    bool any = false;
    VirtqElem *e;
    while (virtq_pop(vdev, vq, &e) > 0) {
        size_t budget = RNG_MAX_CHUNK, done = 0;
        for (unsigned i = 0; i < e->in_num && budget; i++) {
            size_t want = e->in[i].iov_len < budget ? e->in[i].iov_len : budget;
            size_t got = rng_fill(e->in[i].iov_base, want);
            done += got;
            budget -= got;
            if (got < want) {
                break;
            }
        }
        virtq_push(vdev, vq, e, (uint32_t)done);
        any = true;
    }
    if (any) {
        virtio_notify(vdev, vq);
    }
}

static const VirtioDeviceOps rng_ops = { .queue_notify = rng_queue_notify };

bool virtio_rng_create(Machine *m, PciBus *bus, GError **err)
{
    uint16_t qsize = RNG_QUEUE_SIZE;
    /* Class FFh ("device does not fit any defined class"); Linux binds virtio by vendor/device ID. */
    if (!virtio_pci_create(m, bus, "virtio-rng", VIRTIO_ID_RNG, 0xFF00, 0, 0, 1, &qsize, &rng_ops, NULL)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOSPC, "virtio-rng: no room on the PCI bus");
        return false;
    }
    return true;
}
