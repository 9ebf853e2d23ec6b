/*
 * virtio-blk (virtio 1.2 §5.2) on a raw image file. The vCPU that notifies the queue parses requests;
 * reads, writes and flushes run on a worker thread (preadv/pwritev/fdatasync) so the guest keeps running;
 * each completion goes back to the main context, which takes the machine lock, writes the status byte,
 * fills the used ring and interrupts.
 */
#include "system/pc/virtio/virtio-devices.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "system/pc/virtio/virtio.h"

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define BLK_QUEUE_SIZE      256
#define BLK_SECTOR          512
#define BLK_CONFIG_LEN      72      /* struct virtio_blk_config as of 1.2 */
#define BLK_WORKERS         2
#define BLK_IOV_MAX         1024    /* Linux UIO_MAXIOV: the most one preadv takes */

typedef struct VirtioBlk {
    VirtioDevice *vdev;
    Machine *machine;
    char *id, *path;
    bool readonly;
    int fd;
    uint64_t size;
    GThreadPool *pool;
    /* Requests on the worker threads: a reset or a final flush waits for them, so no I/O lands in guest
       RAM or the image after the driver reset the device, and nothing is lost at exit. */
    GMutex inflight_lock;
    GCond inflight_done;
    unsigned inflight;
} VirtioBlk;

typedef struct BlkReq {
    VirtioBlk *blk;
    VirtqElem *elem;
    uint32_t type;
    uint64_t offset;         /* bytes */
    struct iovec *iov;       /* the data part of the chain */
    unsigned niov;
    size_t len;
    uint8_t status;
} BlkReq;

static GPtrArray *blk_devices;   /* every VirtioBlk, for flush_all and query-block */

/* Transfer all of iov at offset, resuming after short transfers. */
static bool blk_rw_full(int fd, bool write, struct iovec *iov, unsigned niov, uint64_t offset)
{
    while (niov) {
        ssize_t n = write ? pwritev(fd, iov, (int)(niov > BLK_IOV_MAX ? BLK_IOV_MAX : niov), (off_t)offset)
                          : preadv(fd, iov, (int)(niov > BLK_IOV_MAX ? BLK_IOV_MAX : niov), (off_t)offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        offset += (uint64_t)n;
        while (niov && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            niov--;
        }
        if (niov) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return true;
}

/* Main context: publish the result (the machine lock serializes us with the vCPUs). */
static gboolean blk_complete(gpointer opaque)
{
    BlkReq *req = opaque;
    VirtioBlk *blk = req->blk;
    VirtioDevice *vdev = blk->vdev;
    machine_lock(blk->machine);
    VirtqElem *e = req->elem;
    VirtQueue *vq = &vdev->queues[0];
    bool live = e->reset_count == vdev->reset_count;
    if (live) {
        /* The status byte is the chain's last writable byte. */
        struct iovec *last = &e->in[e->in_num - 1];
        ((uint8_t *)last->iov_base)[last->iov_len - 1] = req->status;
    }
    /* Used length: all of the writable part (data and status), whatever the outcome, so that
       machine_ram_written covers the status byte at its end. */
    virtq_push(vdev, vq, e, (uint32_t)e->in_len);   /* drops a stale element */
    if (live) {
        virtio_notify(vdev, vq);
    }
    machine_unlock(blk->machine);
    g_free(req->iov);
    g_free(req);
    return G_SOURCE_REMOVE;
}

/* Worker thread: the I/O itself, without the machine lock. */
static void blk_worker(gpointer data, gpointer unused)
{
    (void)unused;
    BlkReq *req = data;
    VirtioBlk *blk = req->blk;
    bool ok;
    switch (req->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        ok = blk_rw_full(blk->fd, req->type == VIRTIO_BLK_T_OUT, req->iov, req->niov, req->offset);
        break;
    case VIRTIO_BLK_T_FLUSH:
        ok = fdatasync(blk->fd) == 0;
        break;
    default:
        ok = false;
        break;
    }
    req->status = ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
    /* The I/O is over: a reset waiting in blk_drain (machine lock held) may go on. Only then queue the
       completion, which needs that lock. */
    g_mutex_lock(&blk->inflight_lock);
    if (--blk->inflight == 0) {
        g_cond_broadcast(&blk->inflight_done);
    }
    g_mutex_unlock(&blk->inflight_lock);
    /* Always an idle source on the main context (g_main_context_invoke could run it on this thread). */
    GSource *done = g_idle_source_new();
    g_source_set_priority(done, G_PRIORITY_DEFAULT);
    g_source_set_callback(done, blk_complete, req, NULL);
    g_source_attach(done, blk->machine->main_context);
    g_source_unref(done);
}

static void blk_submit(VirtioBlk *blk, BlkReq *req)
{
    g_mutex_lock(&blk->inflight_lock);
    blk->inflight++;
    g_mutex_unlock(&blk->inflight_lock);
    g_thread_pool_push(blk->pool, req, NULL);
}

/* Workers never take the machine lock, so waiting for them with it held cannot deadlock. */
static void blk_drain(VirtioBlk *blk)
{
    g_mutex_lock(&blk->inflight_lock);
    while (blk->inflight) {
        g_cond_wait(&blk->inflight_done, &blk->inflight_lock);
    }
    g_mutex_unlock(&blk->inflight_lock);
}

/* The data buffers of a chain: after the 16-byte header for writes; before the status byte for reads. */
static void blk_req_data(BlkReq *req, bool from_out)
{
    VirtqElem *e = req->elem;
    const struct iovec *src = from_out ? e->out : e->in;
    unsigned n = from_out ? e->out_num : e->in_num;
    size_t skip = from_out ? 16 : 0;
    size_t total = (from_out ? e->out_len : e->in_len) - (from_out ? 16 : 1);
    req->iov = g_new(struct iovec, n ? n : 1);
    req->niov = 0;
    req->len = total;
    for (unsigned i = 0; i < n && total; i++) {
        size_t base = 0, len = src[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        base = skip;
        len -= skip;
        skip = 0;
        if (len > total) {
            len = total;
        }
        req->iov[req->niov++] = (struct iovec){ (uint8_t *)src[i].iov_base + base, len };
        total -= len;
    }
}

static void blk_finish_now(VirtioBlk *blk, BlkReq *req, uint8_t status)
{
    req->status = status;
    /* Same path as a worker completion, minus the thread hop: we already hold the lock, so publish here. */
    VirtqElem *e = req->elem;
    struct iovec *last = &e->in[e->in_num - 1];
    ((uint8_t *)last->iov_base)[last->iov_len - 1] = status;
    virtq_push(blk->vdev, &blk->vdev->queues[0], e, (uint32_t)e->in_len);
    g_free(req->iov);
    g_free(req);
}

static void blk_queue_notify(VirtioDevice *vdev, unsigned q)
{
    VirtioBlk *blk = vdev->opaque;
    VirtQueue *vq = &vdev->queues[q];
    bool completed = false;
    VirtqElem *e;
    while (virtq_pop(vdev, vq, &e) > 0) {
        struct { uint32_t type, reserved; uint64_t sector; } hdr;
        if (e->out_len < sizeof(hdr) || e->in_len < 1 ||
            virtq_iov_to_buf(e->out, e->out_num, 0, &hdr, sizeof(hdr)) != sizeof(hdr)) {
            virtio_error(vdev, "request without header or status byte");
            virtq_elem_free(e);
            return;
        }
        BlkReq *req = g_new0(BlkReq, 1);
        req->blk = blk;
        req->elem = e;
        req->type = hdr.type;
        req->offset = hdr.sector * BLK_SECTOR;
        switch (hdr.type) {
        case VIRTIO_BLK_T_IN:
        case VIRTIO_BLK_T_OUT: {
            blk_req_data(req, hdr.type == VIRTIO_BLK_T_OUT);
            bool in_range = hdr.sector <= blk->size / BLK_SECTOR && req->len <= blk->size - req->offset;
            if (hdr.type == VIRTIO_BLK_T_OUT && blk->readonly) {
                blk_finish_now(blk, req, VIRTIO_BLK_S_IOERR);
            } else if (!in_range) {
                machine_log(blk->machine, MACHINE_LOG_GUEST_ERRORS, "%s: access to sector %llu beyond the disk",
                            vdev->name, (unsigned long long)hdr.sector);
                blk_finish_now(blk, req, VIRTIO_BLK_S_IOERR);
            } else {
                blk_submit(blk, req);
                continue;
            }
            break;
        }
        case VIRTIO_BLK_T_FLUSH:
            blk_submit(blk, req);
            continue;
        case VIRTIO_BLK_T_GET_ID: {
            blk_req_data(req, false);
            char id[VIRTIO_BLK_ID_BYTES] = { 0 };
            size_t idlen = strlen(blk->id);   /* not NUL-terminated when 20 bytes or longer (§5.2.6) */
            memcpy(id, blk->id, idlen < sizeof(id) ? idlen : sizeof(id));
            req->len = virtq_iov_from_buf(req->iov, req->niov, 0, id, sizeof(id));
            blk_finish_now(blk, req, VIRTIO_BLK_S_OK);
            break;
        }
        default:
            blk_finish_now(blk, req, VIRTIO_BLK_S_UNSUPP);
            break;
        }
        completed = true;
    }
    if (completed) {
        virtio_notify(vdev, vq);
    }
}

/* Device reset: let the requests under way finish; their completions see the new reset count and drop. */
static void blk_reset(VirtioDevice *vdev)
{
    VirtioBlk *blk = vdev->opaque;
    if (blk) {
        blk_drain(blk);
    }
}

static const VirtioDeviceOps blk_ops = { .queue_notify = blk_queue_notify, .reset = blk_reset };

bool virtio_blk_create(Machine *m, PciBus *bus, const char *id, const char *path, bool readonly,
                       GError **err)
{
    static unsigned anonymous;
    char *fallback_id = id ? NULL : g_strdup_printf("virtio-disk%u", anonymous++);
    id = id ? id : fallback_id;
    if (!path || !*path) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "virtio-blk %s: no image file given", id);
        g_free(fallback_id);
        return false;
    }
    int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "virtio-blk %s: cannot open '%s': %s",
                    id, path, g_strerror(e));
        g_free(fallback_id);
        return false;
    }
    off_t end = lseek(fd, 0, SEEK_END);
    struct stat st;
    if (end < 0 || fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "virtio-blk %s: '%s' is not a disk image", id, path);
        close(fd);
        g_free(fallback_id);
        return false;
    }
    VirtioBlk *blk = g_new0(VirtioBlk, 1);
    blk->machine = m;
    blk->id = g_strdup(id);
    g_free(fallback_id);
    id = blk->id;
    blk->path = g_strdup(path);
    blk->readonly = readonly;
    blk->fd = fd;
    blk->size = (uint64_t)end;
    g_mutex_init(&blk->inflight_lock);
    g_cond_init(&blk->inflight_done);
    uint64_t features = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                        1ull << VIRTIO_BLK_F_FLUSH | (readonly ? 1ull << VIRTIO_BLK_F_RO : 0);
    uint16_t qsize = BLK_QUEUE_SIZE;
    char *name = g_strdup_printf("virtio-blk-%s", id);
    blk->vdev = virtio_pci_create(m, bus, name, VIRTIO_ID_BLOCK, 0x0180, features, BLK_CONFIG_LEN, 1, &qsize,
                                  &blk_ops, blk);
    g_free(name);
    if (!blk->vdev) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOSPC, "virtio-blk %s: no room on the PCI bus", id);
        close(fd);
        g_free(blk->id);
        g_free(blk->path);
        g_free(blk);
        return false;
    }
    uint8_t *c = blk->vdev->config;
    uint64_t sectors = blk->size / BLK_SECTOR;
    for (int i = 0; i < 8; i++) {
        c[i] = (uint8_t)(sectors >> (8 * i));
    }
    pci_set_le(c + 12, 4, BLK_QUEUE_SIZE - 2);   /* seg_max: the header and status take two descriptors */
    pci_set_le(c + 20, 4, BLK_SECTOR);           /* blk_size */
    blk->pool = g_thread_pool_new(blk_worker, blk, BLK_WORKERS, FALSE, NULL);
    if (!blk_devices) {
        blk_devices = g_ptr_array_new();
    }
    g_ptr_array_add(blk_devices, blk);
    return true;
}

void virtio_blk_flush_all(void)
{
    for (guint i = 0; blk_devices && i < blk_devices->len; i++) {
        VirtioBlk *blk = g_ptr_array_index(blk_devices, i);
        blk_drain(blk);
        if (!blk->readonly) {
            fdatasync(blk->fd);
        }
    }
}

GPtrArray *virtio_blk_list(void)
{
    GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; blk_devices && i < blk_devices->len; i++) {
        VirtioBlk *blk = g_ptr_array_index(blk_devices, i);
        VirtioBlkInfo *info = g_new(VirtioBlkInfo, 1);
        *info = (VirtioBlkInfo){ .id = blk->id, .path = blk->path, .readonly = blk->readonly, .size = blk->size };
        g_ptr_array_add(list, info);
    }
    return list;
}
