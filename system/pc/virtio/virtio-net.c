/*
 * virtio-net (virtio 1.2 §5.1): one receive and one transmit queue, a MAC address and link status, no
 * offloads and no mergeable buffers. Frames go to and come from libslirp (net-slirp.c). Frames that
 * arrive while the driver has no receive buffers wait in a short backlog, like a NIC's FIFO.
 */
#include "system/pc/virtio/virtio-devices.h"

#include <string.h>

#include "system/pc/virtio/net-slirp.h"
#include "system/pc/virtio/virtio.h"

#define VIRTIO_NET_F_MAC    5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define NET_RXQ         0
#define NET_TXQ         1
#define NET_QUEUE_SIZE  256
#define NET_HDR_LEN     12       /* struct virtio_net_hdr with num_buffers (always, with VERSION_1) */
#define NET_CONFIG_LEN  12       /* mac, status, max_virtqueue_pairs, mtu */
#define NET_MAX_FRAME   65550
#define NET_BACKLOG_MAX 256

typedef struct VirtioNet {
    VirtioDevice *vdev;
    Machine *machine;
    NetSlirp *slirp;
    GQueue backlog;          /* GBytes frames waiting for receive buffers */
    uint8_t *tx_buf;
} VirtioNet;

/* Put one frame into the next receive buffer; false if there is none. */
static bool net_deliver(VirtioNet *net, const uint8_t *frame, size_t len)
{
    VirtioDevice *vdev = net->vdev;
    VirtQueue *vq = &vdev->queues[NET_RXQ];
    VirtqElem *e;
    if (virtq_pop(vdev, vq, &e) <= 0) {
        return false;
    }
    if (e->in_len < NET_HDR_LEN + len) {
        machine_log(net->machine, MACHINE_LOG_GUEST_ERRORS, "%s: receive buffer of %zu bytes for a %zu-byte frame",
                    vdev->name, e->in_len, len);
        virtq_push(vdev, vq, e, 0);
        return true;   /* the frame is lost, as on a NIC whose ring holds runts */
    }
    uint8_t hdr[NET_HDR_LEN] = { 0 };
    hdr[10] = 1;   /* num_buffers */
    virtq_iov_from_buf(e->in, e->in_num, 0, hdr, sizeof(hdr));
    virtq_iov_from_buf(e->in, e->in_num, NET_HDR_LEN, frame, len);
    virtq_push(vdev, vq, e, (uint32_t)(NET_HDR_LEN + len));
    return true;
}

static void net_flush_backlog(VirtioNet *net)
{
    bool any = false;
    GBytes *b;
    while ((b = g_queue_peek_head(&net->backlog))) {
        gsize len;
        const uint8_t *data = g_bytes_get_data(b, &len);
        if (!net_deliver(net, data, len)) {
            break;
        }
        g_bytes_unref(g_queue_pop_head(&net->backlog));
        any = true;
    }
    if (any) {
        virtio_notify(net->vdev, &net->vdev->queues[NET_RXQ]);
    }
}

/* From slirp (lock held). */
static void net_receive(void *opaque, const uint8_t *frame, size_t len)
{
    VirtioNet *net = opaque;
    if (!net->vdev || !virtio_driver_ok(net->vdev)) {   /* NULL: still being created */
        return;   /* link not up from the guest's side: dropped, as on the wire */
    }
    if (g_queue_is_empty(&net->backlog) && net_deliver(net, frame, len)) {
        virtio_notify(net->vdev, &net->vdev->queues[NET_RXQ]);
        return;
    }
    if (net->backlog.length < NET_BACKLOG_MAX) {
        g_queue_push_tail(&net->backlog, g_bytes_new(frame, len));
    }
}

static void net_transmit(VirtioNet *net)
{
    VirtioDevice *vdev = net->vdev;
    VirtQueue *vq = &vdev->queues[NET_TXQ];
    bool any = false;
    VirtqElem *e;
    while (virtq_pop(vdev, vq, &e) > 0) {
        size_t len = e->out_len > NET_HDR_LEN ? e->out_len - NET_HDR_LEN : 0;
        if (len > NET_MAX_FRAME) {
            machine_log(net->machine, MACHINE_LOG_GUEST_ERRORS, "%s: %zu-byte frame dropped", vdev->name, len);
            len = 0;
        }
        if (len) {
            virtq_iov_to_buf(e->out, e->out_num, NET_HDR_LEN, net->tx_buf, len);
        }
        virtq_push(vdev, vq, e, 0);
        any = true;
        if (len) {
            net_slirp_input(net->slirp, net->tx_buf, len);
        }
    }
    if (any) {
        virtio_notify(vdev, vq);
    }
}

static void net_queue_notify(VirtioDevice *vdev, unsigned q)
{
    VirtioNet *net = vdev->opaque;
    if (q == NET_TXQ) {
        net_transmit(net);
    } else {
        net_flush_backlog(net);
    }
}

static void net_reset(VirtioDevice *vdev)
{
    VirtioNet *net = vdev->opaque;
    g_queue_clear_full(&net->backlog, (GDestroyNotify)g_bytes_unref);
}

static void net_driver_ok(VirtioDevice *vdev)
{
    net_flush_backlog(vdev->opaque);
}

static const VirtioDeviceOps net_ops = {
    .queue_notify = net_queue_notify,
    .reset = net_reset,
    .driver_ok = net_driver_ok,
};

bool virtio_net_create(Machine *m, PciBus *bus, const char *id, const char *const *hostfwd, GError **err)
{
    static unsigned nics;
    VirtioNet *net = g_new0(VirtioNet, 1);
    net->machine = m;
    g_queue_init(&net->backlog);
    net->slirp = net_slirp_new(m, hostfwd, net_receive, net, err);
    if (!net->slirp) {
        g_free(net);
        return false;
    }
    uint16_t sizes[2] = { NET_QUEUE_SIZE, NET_QUEUE_SIZE };
    char *name = g_strdup_printf("virtio-net-%s", id ? id : "0");
    net->vdev = virtio_pci_create(m, bus, name, VIRTIO_ID_NET, 0x0200,
                                  1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS, NET_CONFIG_LEN, 2,
                                  sizes, &net_ops, net);
    g_free(name);
    if (!net->vdev) {
        g_set_error(err, g_quark_from_static_string("ember-net-error"), 0, "virtio-net: no room on the PCI bus");
        net_slirp_free(net->slirp);
        g_free(net);
        return false;
    }
    net->tx_buf = g_malloc(NET_MAX_FRAME);
    /* 52:54:00:12:34:56 like QEMU's first NIC, so guest configurations written for it carry over. */
    uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + nics++) };
    memcpy(net->vdev->config, mac, 6);
    pci_set_le(net->vdev->config + 6, 2, VIRTIO_NET_S_LINK_UP);
    return true;
}
