// The guest side of virtio-pci for the tests: finds a function through configuration space, walks its
// capabilities, negotiates features, lays out split virtqueues in the test machine's RAM and submits
// descriptor chains, much as Linux's virtio_pci_modern and virtio_ring do.
#ifndef EMBER_PC_VIRTIO_DRIVER_H
#define EMBER_PC_VIRTIO_DRIVER_H

#include "system/pc/pci/tests/pci-test-util.h"

#include <vector>

extern "C" {
#include "system/pc/virtio/virtio-devices.h"
#include "system/pc/virtio/virtio.h"
}

struct Buf {
    uint64_t gpa;
    uint32_t len;
    bool write;          // device-writable
};

class VirtioDriver {
public:
    VirtioDriver(TestMachine &tm, uint16_t pci_device, unsigned nth = 0) : tm_(tm)
    {
        for (unsigned slot = 0; slot < 32; slot++) {
            if (tm.cfg_read(slot, 0, 4) == ((uint32_t)pci_device << 16 | VIRTIO_PCI_VENDOR) && nth-- == 0) {
                slot_ = (int)slot;
                break;
            }
        }
        if (slot_ >= 0) {
            WalkCaps();
        }
    }
    bool found() const { return slot_ >= 0; }
    int slot() const { return slot_; }

    // Capabilities: where each virtio structure lives (BAR + offset), and MSI-X.
    void WalkCaps()
    {
        unsigned pos = tm_.cfg_read(slot_, PCI_CAPABILITY_LIST, 1);
        for (int guard = 0; pos && guard < 48; guard++) {
            unsigned id = tm_.cfg_read(slot_, pos, 1);
            if (id == PCI_CAP_ID_VNDR) {
                unsigned type = tm_.cfg_read(slot_, pos + 3, 1);
                unsigned bar = tm_.cfg_read(slot_, pos + 4, 1);
                uint64_t off = tm_.cfg_read(slot_, pos + 8, 4);
                uint64_t base = BarAddr(bar);
                caps_seen |= 1u << type;
                if (type == VIRTIO_PCI_CAP_COMMON_CFG) common = base + off;
                if (type == VIRTIO_PCI_CAP_ISR_CFG) isr = base + off;
                if (type == VIRTIO_PCI_CAP_DEVICE_CFG) device = base + off;
                if (type == VIRTIO_PCI_CAP_PCI_CFG) pci_cfg_cap = pos;
                if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
                    notify = base + off;
                    notify_mult = tm_.cfg_read(slot_, pos + 16, 4);
                }
            } else if (id == PCI_CAP_ID_MSIX) {
                msix_cap = pos;
                uint32_t t = tm_.cfg_read(slot_, pos + 4, 4);
                msix_table = BarAddr(t & 7) + (t & ~7u);
            }
            pos = tm_.cfg_read(slot_, pos + 1, 1);
        }
    }
    uint64_t BarAddr(unsigned bar)
    {
        uint32_t lo = tm_.cfg_read(slot_, PCI_BASE_ADDRESS_0 + 4 * bar, 4);
        uint64_t a = lo & ~0xFu;
        if ((lo & 6) == 4) {
            a |= (uint64_t)tm_.cfg_read(slot_, PCI_BASE_ADDRESS_0 + 4 * bar + 4, 4) << 32;
        }
        return a;
    }

    uint32_t Common(unsigned off, unsigned size) { return (uint32_t)tm_.rd(common + off, size); }
    void SetCommon(unsigned off, uint32_t v, unsigned size) { tm_.wr(common + off, v, size); }
    uint8_t Status() { return (uint8_t)Common(VIRTIO_COMMON_STATUS, 1); }
    uint64_t DeviceFeatures()
    {
        SetCommon(VIRTIO_COMMON_DFSELECT, 0, 4);
        uint64_t f = Common(VIRTIO_COMMON_DF, 4);
        SetCommon(VIRTIO_COMMON_DFSELECT, 1, 4);
        return f | (uint64_t)Common(VIRTIO_COMMON_DF, 4) << 32;
    }
    uint32_t Config(unsigned off, unsigned size) { return (uint32_t)tm_.rd(device + off, size); }

    // MSI-X on: vector v sends (0xFEE00000, 0x40 + v).
    void EnableMsix(unsigned nvec)
    {
        for (unsigned v = 0; v < nvec; v++) {
            tm_.wr(msix_table + 16 * v, 0xFEE00000, 4);
            tm_.wr(msix_table + 16 * v + 4, 0, 4);
            tm_.wr(msix_table + 16 * v + 8, 0x40 + v, 4);
            tm_.wr(msix_table + 16 * v + 12, 0, 4);
        }
        tm_.cfg_write(slot_, msix_cap + 2, PCI_MSIX_FLAGS_ENABLE, 2);
    }

    // Reset, negotiate, set up nq queues of qsize, DRIVER_OK. False if the device refused something.
    bool Init(uint64_t want, unsigned nq, uint16_t qsize, bool msix = true)
    {
        tm_.cfg_write(slot_, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
        SetCommon(VIRTIO_COMMON_STATUS, 0, 1);
        SetCommon(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE, 1);
        SetCommon(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
        uint64_t f = DeviceFeatures() & want;
        SetCommon(VIRTIO_COMMON_GFSELECT, 0, 4);
        SetCommon(VIRTIO_COMMON_GF, (uint32_t)f, 4);
        SetCommon(VIRTIO_COMMON_GFSELECT, 1, 4);
        SetCommon(VIRTIO_COMMON_GF, (uint32_t)(f >> 32), 4);
        SetCommon(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                  VIRTIO_STATUS_FEATURES_OK, 1);
        if (!(Status() & VIRTIO_STATUS_FEATURES_OK)) {
            return false;
        }
        if (msix) {
            EnableMsix(nq + 1);
            SetCommon(VIRTIO_COMMON_MSIX, 0, 2);
        }
        queues.clear();
        for (unsigned q = 0; q < nq; q++) {
            SetCommon(VIRTIO_COMMON_Q_SELECT, q, 2);
            Queue vq;
            vq.size = qsize;
            vq.desc = Alloc(16ull * qsize, 16);
            vq.avail = Alloc(6 + 2ull * qsize, 2);
            vq.used = Alloc(6 + 8ull * qsize, 4);
            vq.notify_off = Common(VIRTIO_COMMON_Q_NOFF, 2);
            SetCommon(VIRTIO_COMMON_Q_SIZE, qsize, 2);
            SetCommon(VIRTIO_COMMON_Q_DESCLO, (uint32_t)vq.desc, 4);
            SetCommon(VIRTIO_COMMON_Q_DESCHI, (uint32_t)(vq.desc >> 32), 4);
            SetCommon(VIRTIO_COMMON_Q_AVAILLO, (uint32_t)vq.avail, 4);
            SetCommon(VIRTIO_COMMON_Q_AVAILHI, 0, 4);
            SetCommon(VIRTIO_COMMON_Q_USEDLO, (uint32_t)vq.used, 4);
            SetCommon(VIRTIO_COMMON_Q_USEDHI, 0, 4);
            if (msix) {
                SetCommon(VIRTIO_COMMON_Q_MSIX, q + 1, 2);
            }
            SetCommon(VIRTIO_COMMON_Q_ENABLE, 1, 2);
            queues.push_back(vq);
        }
        SetCommon(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK, 1);
        return (Status() & VIRTIO_STATUS_DRIVER_OK) && !(Status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    }

    // Guest RAM, bump-allocated above 1 MiB.
    uint64_t Alloc(uint64_t size, uint64_t align = 16)
    {
        next_ram = (next_ram + align - 1) & ~(align - 1);
        uint64_t a = next_ram;
        next_ram += size;
        return a;
    }
    uint8_t *Ram(uint64_t gpa) { return tm_.m.ram + gpa; }
    template <typename T> void Put(uint64_t gpa, T v) { memcpy(Ram(gpa), &v, sizeof(v)); }
    template <typename T> T Get(uint64_t gpa) { T v; memcpy(&v, Ram(gpa), sizeof(v)); return v; }

    // Write raw descriptor i of queue q.
    void SetDesc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
    {
        uint64_t d = queues[q].desc + 16ull * i;
        Put<uint64_t>(d, addr);
        Put<uint32_t>(d + 8, len);
        Put<uint16_t>(d + 12, flags);
        Put<uint16_t>(d + 14, next);
    }
    // Offer descriptor head on queue q and notify.
    void Offer(unsigned q, uint16_t head, bool kick = true)
    {
        Queue &vq = queues[q];
        Put<uint16_t>(vq.avail + 4 + 2ull * (vq.avail_idx % vq.size), head);
        vq.avail_idx++;
        // Publish the ring entry before the index, as a driver's write barrier does.
        __atomic_store_n(reinterpret_cast<uint16_t *>(Ram(vq.avail + 2)), vq.avail_idx, __ATOMIC_RELEASE);
        if (kick) {
            Kick(q);
        }
    }
    void Kick(unsigned q) { tm_.wr(notify + (uint64_t)queues[q].notify_off * notify_mult, q, 2); }
    // A chain of bufs in fresh descriptors; returns the head.
    uint16_t Submit(unsigned q, const std::vector<Buf> &bufs, bool kick = true)
    {
        Queue &vq = queues[q];
        uint16_t head = vq.next_desc;
        for (size_t i = 0; i < bufs.size(); i++) {
            uint16_t idx = (uint16_t)((head + i) % vq.size);
            bool more = i + 1 < bufs.size();
            SetDesc(q, idx, bufs[i].gpa, bufs[i].len,
                    (uint16_t)((more ? VIRTQ_DESC_F_NEXT : 0) | (bufs[i].write ? VIRTQ_DESC_F_WRITE : 0)),
                    (uint16_t)((idx + 1) % vq.size));
        }
        vq.next_desc = (uint16_t)((head + bufs.size()) % vq.size);
        Offer(q, head, kick);
        return head;
    }
    // The same through an indirect table.
    uint16_t SubmitIndirect(unsigned q, const std::vector<Buf> &bufs)
    {
        uint64_t table = Alloc(16 * bufs.size(), 16);
        for (size_t i = 0; i < bufs.size(); i++) {
            bool more = i + 1 < bufs.size();
            Put<uint64_t>(table + 16 * i, bufs[i].gpa);
            Put<uint32_t>(table + 16 * i + 8, bufs[i].len);
            Put<uint16_t>(table + 16 * i + 12,
                          (uint16_t)((more ? VIRTQ_DESC_F_NEXT : 0) | (bufs[i].write ? VIRTQ_DESC_F_WRITE : 0)));
            Put<uint16_t>(table + 16 * i + 14, (uint16_t)(i + 1));
        }
        Queue &vq = queues[q];
        uint16_t head = vq.next_desc;
        SetDesc(q, head, table, (uint32_t)(16 * bufs.size()), VIRTQ_DESC_F_INDIRECT, 0);
        vq.next_desc = (uint16_t)((head + 1) % vq.size);
        Offer(q, head);
        return head;
    }
    uint16_t UsedIdx(unsigned q) { return __atomic_load_n((uint16_t *)Ram(queues[q].used + 2), __ATOMIC_ACQUIRE); }
    // Used element n (in order of completion): {id, len}.
    std::pair<uint32_t, uint32_t> Used(unsigned q, uint16_t n)
    {
        uint64_t e = queues[q].used + 4 + 8ull * (n % queues[q].size);
        return { Get<uint32_t>(e), Get<uint32_t>(e + 4) };
    }
    bool WaitUsed(unsigned q, uint16_t n, int timeout_ms = 5000)
    {
        return tm_.run_until([&] { return UsedIdx(q) >= n; }, timeout_ms);
    }

    struct Queue {
        uint16_t size = 0, notify_off = 0, avail_idx = 0, next_desc = 0;
        uint64_t desc = 0, avail = 0, used = 0;
    };
    std::vector<Queue> queues;
    uint64_t common = 0, isr = 0, device = 0, notify = 0, msix_table = 0;
    uint32_t notify_mult = 0, msix_cap = 0, caps_seen = 0, pci_cfg_cap = 0;
    uint64_t next_ram = 0x100000;   // where Alloc takes guest RAM from (give each driver its own area)

private:
    TestMachine &tm_;
    int slot_ = -1;
};

#endif
