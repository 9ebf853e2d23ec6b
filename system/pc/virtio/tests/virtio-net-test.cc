// virtio-net on libslirp: the test, as the guest, sends a DHCP DISCOVER through the transmit queue and
// expects slirp's OFFER on the receive queue; then a host connection to a forwarded port must reach the
// guest as a TCP SYN. The machine's main context runs slirp's sockets and timers.
#include "system/pc/virtio/tests/virtio-driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

extern "C" {
#include "system/pc/virtio/net-slirp.h"
}

namespace {

constexpr unsigned kRx = 0, kTx = 1;
constexpr uint8_t kMac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
using Frame = std::vector<uint8_t>;

uint16_t IpChecksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    }
    while (sum >> 16) {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

void Put16(Frame &f, size_t at, uint16_t v) { f[at] = (uint8_t)(v >> 8); f[at + 1] = (uint8_t)v; }
uint16_t Get16(const Frame &f, size_t at) { return (uint16_t)(f[at] << 8 | f[at + 1]); }

// Ethernet + IPv4 + UDP 68→67 + BOOTP request with DHCP message type DISCOVER.
Frame DhcpDiscover(uint32_t xid)
{
    const size_t bootp = 300;
    Frame f(14 + 20 + 8 + bootp, 0);
    memset(&f[0], 0xFF, 6);
    memcpy(&f[6], kMac, 6);
    Put16(f, 12, 0x0800);
    uint8_t *ip = &f[14];
    ip[0] = 0x45;
    Put16(f, 14 + 2, (uint16_t)(20 + 8 + bootp));
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xFF, 4);    // to 255.255.255.255 from 0.0.0.0
    Put16(f, 14 + 10, IpChecksum(ip, 20));
    Put16(f, 34, 68);
    Put16(f, 36, 67);
    Put16(f, 38, (uint16_t)(8 + bootp));
    uint8_t *bp = &f[42];
    bp[0] = 1;                   // BOOTREQUEST
    bp[1] = 1;                   // Ethernet
    bp[2] = 6;
    memcpy(bp + 4, &xid, 4);
    bp[10] = 0x80;               // broadcast reply
    memcpy(bp + 28, kMac, 6);
    const uint8_t opts[] = { 0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255 };
    memcpy(bp + 236, opts, sizeof(opts));
    return f;
}

class NetTest : public ::testing::Test {
protected:
    void Start(const std::vector<std::string> &fwd, int rx_buffers = 32)
    {
        bus = pci_host_create(&tm.m);
        std::vector<const char *> rules;
        for (auto &r : fwd) {
            rules.push_back(r.c_str());
        }
        rules.push_back(nullptr);
        GError *err = nullptr;
        ASSERT_TRUE(virtio_net_create(&tm.m, bus, "net0", rules.data(), &err)) << err->message;
        drv = new VirtioDriver(tm, 0x1041);
        ASSERT_TRUE(drv->found());
        ASSERT_TRUE(drv->Init(1ull << VIRTIO_F_VERSION_1 | 1ull << 5 | 1ull << 16, 2, 64));
        for (int i = 0; i < rx_buffers; i++) {
            PostRx();
        }
    }
    void TearDown() override { delete drv; }

    void PostRx()
    {
        uint64_t b = drv->Alloc(2048);
        drv->Submit(kRx, { { b, 2048, true } });
        rx_bufs[drv->queues[kRx].next_desc == 0 ? 63 : drv->queues[kRx].next_desc - 1] = b;
    }
    void Send(const Frame &f)
    {
        uint64_t b = drv->Alloc(12 + f.size());
        memset(drv->Ram(b), 0, 12);
        memcpy(drv->Ram(b + 12), f.data(), f.size());
        uint16_t before = drv->UsedIdx(kTx);
        drv->Submit(kTx, { { b, (uint32_t)(12 + f.size()), false } });
        EXPECT_EQ(drv->UsedIdx(kTx), before + 1);   // transmitted synchronously
    }
    // Frames received so far that we have not looked at (each buffer reposted).
    std::vector<Frame> Take()
    {
        std::vector<Frame> out;
        while (rx_seen != drv->UsedIdx(kRx)) {
            auto used = drv->Used(kRx, rx_seen++);
            uint64_t b = rx_bufs[used.first];
            EXPECT_GE(used.second, 12u + 14u);
            EXPECT_EQ(drv->Get<uint16_t>(b + 10), 1u);   // num_buffers
            out.emplace_back(drv->Ram(b + 12), drv->Ram(b + used.second));
            PostRx();
        }
        return out;
    }
    // Run the main loop until some received frame satisfies pred (answering ARP for 10.0.2.15 meanwhile).
    bool WaitFrame(const std::function<bool(const Frame &)> &pred, Frame *match, int timeout_ms = 5000)
    {
        bool got = false;
        tm.run_until([&] {
            for (Frame &f : Take()) {
                if (Get16(f, 12) == 0x0806 && Get16(f, 20) == 1 && !memcmp(&f[38], "\x0a\x00\x02\x0f", 4)) {
                    AnswerArp(f);
                }
                if (!got && pred(f)) {
                    got = true;
                    *match = f;
                }
            }
            return got;
        }, timeout_ms);
        return got;
    }
    void AnswerArp(const Frame &req)
    {
        Frame r(42, 0);
        memcpy(&r[0], &req[6], 6);
        memcpy(&r[6], kMac, 6);
        Put16(r, 12, 0x0806);
        Put16(r, 14, 1);
        Put16(r, 16, 0x0800);
        r[18] = 6;
        r[19] = 4;
        Put16(r, 20, 2);
        memcpy(&r[22], kMac, 6);
        memcpy(&r[28], "\x0a\x00\x02\x0f", 4);
        memcpy(&r[32], &req[22], 10);
        Send(r);
    }
    bool IsDhcpOffer(const Frame &f, uint32_t xid)
    {
        if (f.size() < 42 + 240 || Get16(f, 12) != 0x0800 || f[23] != 17 || Get16(f, 34) != 67 ||
            Get16(f, 36) != 68) {
            return false;
        }
        const uint8_t *bp = &f[42];
        uint32_t got_xid;
        memcpy(&got_xid, bp + 4, 4);
        if (bp[0] != 2 || got_xid != xid) {
            return false;
        }
        offered = std::to_string(bp[16]) + "." + std::to_string(bp[17]) + "." + std::to_string(bp[18]) + "." +
                  std::to_string(bp[19]);
        for (size_t i = 240; i + 2 < f.size() - 42 && bp[i] != 255; i += bp[i] ? 2 + bp[i + 1] : 1) {
            if (bp[i] == 53) {
                return bp[i + 2] == 2;   // DHCPOFFER
            }
        }
        return false;
    }

    TestMachine tm;
    PciBus *bus = nullptr;
    VirtioDriver *drv = nullptr;
    uint64_t rx_bufs[64] = {};
    uint16_t rx_seen = 0;
    std::string offered;
};

TEST_F(NetTest, ConfigHasMacAndLink)
{
    Start({});
    for (int i = 0; i < 6; i++) {
        EXPECT_EQ(drv->Config(i, 1), kMac[i]) << i;
    }
    EXPECT_EQ(drv->Config(6, 2), 1u);   // VIRTIO_NET_S_LINK_UP
    EXPECT_EQ(tm.cfg_read(drv->slot(), PCI_CLASS_DEVICE, 2), 0x0200u);
    EXPECT_EQ(drv->Common(VIRTIO_COMMON_NUMQ, 2), 2u);
}

TEST_F(NetTest, DhcpDiscoverGetsAnOffer)
{
    Start({});
    const uint32_t xid = 0x1234ABCD;
    unsigned msis = test_msi_count;
    Send(DhcpDiscover(xid));
    Frame offer;
    ASSERT_TRUE(WaitFrame([&](const Frame &f) { return IsDhcpOffer(f, xid); }, &offer));
    EXPECT_EQ(offered, "10.0.2.15");
    EXPECT_EQ(memcmp(&offer[26], "\x0a\x00\x02\x02", 4), 0);   // from the host, 10.0.2.2
    EXPECT_GT(test_msi_count, msis);                          // the receive queue interrupted
}

TEST_F(NetTest, FramesWaitForReceiveBuffers)
{
    Start({}, /*rx_buffers=*/0);
    Send(DhcpDiscover(99));
    tm.run_until([] { return false; }, 50);
    EXPECT_EQ(drv->UsedIdx(kRx), 0);
    // Buffers posted (and the receive queue notified): the held OFFER arrives.
    for (int i = 0; i < 4; i++) {
        PostRx();
    }
    Frame offer;
    EXPECT_TRUE(WaitFrame([&](const Frame &f) { return IsDhcpOffer(f, 99); }, &offer));
}

// A free TCP port on the host (bound and released).
int FreePort()
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(s, reinterpret_cast<sockaddr *>(&a), &len);
    close(s);
    return ntohs(a.sin_port);
}

TEST_F(NetTest, HostForwardReachesGuestAsSyn)
{
    int port = FreePort();
    Start({ "tcp::" + std::to_string(port) + "-:2222" });
    Send(DhcpDiscover(7));
    Frame offer;
    ASSERT_TRUE(WaitFrame([&](const Frame &f) { return IsDhcpOffer(f, 7); }, &offer));

    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int r = connect(c, reinterpret_cast<sockaddr *>(&a), sizeof(a));
    ASSERT_TRUE(r == 0 || errno == EINPROGRESS) << strerror(errno);
    Frame syn;
    ASSERT_TRUE(WaitFrame([](const Frame &f) {
        return f.size() >= 54 && Get16(f, 12) == 0x0800 && f[23] == 6 && !memcmp(&f[30], "\x0a\x00\x02\x0f", 4) &&
               Get16(f, 36) == 2222 && (f[47] & 0x12) == 0x02;   // SYN without ACK
    }, &syn));
    close(c);
}

TEST(NetOptions, BadHostfwdIsAOneLineError)
{
    for (const char *bad : { "tcp::abc-:22", "tcp:22-:22", "sctp::1-:2", "tcp::0-:22", "tcp::22-:70000",
                             "tcp::22", "tcp:1.2.3:22-:22", "" }) {
        TestMachine tm;
        PciBus *bus = pci_host_create(&tm.m);
        const char *rules[] = { bad, nullptr };
        GError *err = nullptr;
        EXPECT_FALSE(virtio_net_create(&tm.m, bus, "n", rules, &err)) << bad;
        ASSERT_NE(err, nullptr) << bad;
        EXPECT_NE(std::string(err->message).find("hostfwd"), std::string::npos) << err->message;
        EXPECT_EQ(std::string(err->message).find('\n'), std::string::npos);
        g_clear_error(&err);
        EXPECT_EQ(tm.cfg_read(1, 0, 4), 0xFFFFFFFFu) << "a device was left on the bus";
    }
}

TEST(NetOptions, HostfwdSyntax)
{
    bool udp = true;
    struct in_addr h = {}, g = {};
    int hp = 0, gp = 0;
    ASSERT_TRUE(net_slirp_parse_hostfwd("tcp::5555-:22", &udp, &h, &hp, &g, &gp, nullptr));
    EXPECT_FALSE(udp);
    EXPECT_EQ(hp, 5555);
    EXPECT_EQ(gp, 22);
    ASSERT_TRUE(net_slirp_parse_hostfwd("udp:127.0.0.1:5353-10.0.2.20:53", &udp, &h, &hp, &g, &gp, nullptr));
    EXPECT_TRUE(udp);
    EXPECT_EQ(h.s_addr, htonl(0x7F000001));
    EXPECT_EQ(g.s_addr, htonl(0x0A000214));
}

TEST(NetOptions, HostPortInUse)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a)), 0);
    ASSERT_EQ(listen(s, 1), 0);
    socklen_t len = sizeof(a);
    getsockname(s, reinterpret_cast<sockaddr *>(&a), &len);
    std::string rule = "tcp::" + std::to_string(ntohs(a.sin_port)) + "-:22";
    TestMachine tm;
    PciBus *bus = pci_host_create(&tm.m);
    const char *rules[] = { rule.c_str(), nullptr };
    GError *err = nullptr;
    EXPECT_FALSE(virtio_net_create(&tm.m, bus, "n", rules, &err));
    ASSERT_NE(err, nullptr);
    EXPECT_NE(std::string(err->message).find("cannot listen"), std::string::npos) << err->message;
    g_clear_error(&err);
    close(s);
}

}  // namespace
