// The command line (options.c): every option, QEMU's spellings, and every kind of bad input giving one
// line that names the option and its value.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

extern "C" {
#include "system/pc/machine.h"
#include "system/pc/options.h"
}

namespace {

const uint64_t kHostRam = 64ull << 30;

struct Parsed {
    bool ok;
    std::string error;
    PcOptions o;
};

Parsed Parse(std::initializer_list<const char *> args, uint64_t host_ram = kHostRam)
{
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>("ember-system-x86_64"));
    for (const char *a : args) {
        argv.push_back(const_cast<char *>(a));
    }
    Parsed p;
    char *error = nullptr;
    p.ok = pc_options_parse(&p.o, (int)argv.size(), argv.data(), host_ram, &error);
    p.error = error ? error : "";
    g_free(error);
    return p;
}

// A failure: one line that names the option (and the value when given).
void ExpectError(std::initializer_list<const char *> args, const std::string &must_contain)
{
    Parsed p = Parse(args);
    EXPECT_FALSE(p.ok) << "accepted: " << must_contain;
    EXPECT_NE(p.error.find(must_contain), std::string::npos) << p.error;
    EXPECT_EQ(p.error.find('\n'), std::string::npos) << "more than one line: " << p.error;
    pc_options_free(&p.o);
}

TEST(Options, Defaults)
{
    Parsed p = Parse({});
    ASSERT_TRUE(p.ok);
    EXPECT_EQ(p.o.action, PC_OPTIONS_RUN);
    EXPECT_EQ(p.o.accel, PC_ACCEL_TCG);
    EXPECT_EQ(p.o.ram_size, 128ull << 20);
    EXPECT_EQ(p.o.smp, 1);
    EXPECT_EQ(p.o.nr_serial, 0);
    EXPECT_EQ(p.o.drives->len, 0u);
    pc_options_free(&p.o);
}

TEST(Options, Accel)
{
    struct {
        std::vector<const char *> args;
        PcAccelChoice want;
    } cases[] = {
        { { "-accel", "tcg" }, PC_ACCEL_TCG },
        { { "-accel", "kvm" }, PC_ACCEL_KVM },
        { { "-accel", "kvm:tcg" }, PC_ACCEL_KVM_OR_TCG },
        { { "-enable-kvm" }, PC_ACCEL_KVM },
        { { "--accel", "tcg,thread=single" }, PC_ACCEL_TCG },
        { { "-accel", "accel=kvm" }, PC_ACCEL_KVM },
    };
    for (auto &c : cases) {
        std::vector<char *> argv{ const_cast<char *>("x") };
        for (auto a : c.args) {
            argv.push_back(const_cast<char *>(a));
        }
        PcOptions o;
        char *err = nullptr;
        ASSERT_TRUE(pc_options_parse(&o, (int)argv.size(), argv.data(), kHostRam, &err)) << err;
        EXPECT_EQ(o.accel, c.want) << c.args[1];
        pc_options_free(&o);
    }
    ExpectError({ "-accel", "hvf" }, "-accel hvf");
    ExpectError({ "-accel", "tcg,foo=1" }, "unknown parameter 'foo'");
    ExpectError({ "-accel" }, "-accel needs a value");
}

TEST(Options, MemorySizes)
{
    struct {
        const char *arg;
        uint64_t bytes;
    } good[] = {
        { "512", 512ull << 20 }, { "1G", 1ull << 30 },   { "1g", 1ull << 30 },   { "2048M", 2ull << 30 },
        { "32M", 32ull << 20 },  { "1.5G", 3ull << 29 }, { "size=64M", 64ull << 20 }, { "65536K", 64ull << 20 },
        { "1GB", 1ull << 30 },
    };
    for (auto &g : good) {
        Parsed p = Parse({ "-m", g.arg });
        ASSERT_TRUE(p.ok) << g.arg << ": " << p.error;
        EXPECT_EQ(p.o.ram_size, g.bytes) << g.arg;
        pc_options_free(&p.o);
    }
    ExpectError({ "-m", "31M" }, "-m 31M: too little RAM");
    ExpectError({ "-m", "0" }, "-m 0: too little RAM");
    ExpectError({ "-m", "2T" }, "-m 2T: too much RAM");
    ExpectError({ "-m", "lots" }, "-m lots: not a size");
    ExpectError({ "-m", "1X" }, "-m 1X: not a size");
    ExpectError({ "-m", "-1G" }, "-m -1G: not a size");
    ExpectError({ "-m", "" }, "not a size");
    Parsed p = Parse({ "-m", "8G" }, 4ull << 30);
    EXPECT_FALSE(p.ok);
    EXPECT_NE(p.error.find("more than the host's RAM"), std::string::npos) << p.error;
    pc_options_free(&p.o);
}

TEST(Options, Smp)
{
    for (const char *arg : { "1", "2", "64", "cpus=4", "4,sockets=4", "2,cores=1,threads=1" }) {
        Parsed p = Parse({ "-smp", arg });
        ASSERT_TRUE(p.ok) << arg << ": " << p.error;
        pc_options_free(&p.o);
    }
    Parsed p = Parse({ "-smp", "cpus=3" });
    EXPECT_EQ(p.o.smp, 3);
    pc_options_free(&p.o);
    ExpectError({ "-smp", "0" }, "-smp 0");
    ExpectError({ "-smp", "65" }, "-smp 65: the number of CPUs must be 1 to 64");
    ExpectError({ "-smp", "two" }, "-smp two");
    ExpectError({ "-smp", "2,dies=2" }, "unknown parameter 'dies'");
}

TEST(Options, KernelInitrdAppend)
{
    Parsed p = Parse({ "-kernel", "/k", "-initrd", "/i", "-append", "console=ttyS0 quiet" });
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_STREQ(p.o.kernel, "/k");
    EXPECT_STREQ(p.o.initrd, "/i");
    EXPECT_STREQ(p.o.append, "console=ttyS0 quiet");
    pc_options_free(&p.o);
    ExpectError({ "-initrd", "/i" }, "-initrd needs -kernel");
    ExpectError({ "-append", "x" }, "-append needs -kernel");
    ExpectError({ "-kernel" }, "-kernel needs a value");
}

TEST(Options, Drives)
{
    Parsed p = Parse({ "-drive", "file=/a.img,format=raw,if=virtio", "-drive",
                       "file=/b,,c.img,format=raw,if=virtio,readonly=on,id=data" });
    ASSERT_TRUE(p.ok) << p.error;
    ASSERT_EQ(p.o.drives->len, 2u);
    auto *a = static_cast<PcDriveSpec *>(p.o.drives->pdata[0]);
    auto *b = static_cast<PcDriveSpec *>(p.o.drives->pdata[1]);
    EXPECT_STREQ(a->file, "/a.img");
    EXPECT_FALSE(a->readonly);
    EXPECT_STREQ(a->id, "virtio0");
    EXPECT_STREQ(b->file, "/b,c.img") << "a doubled comma is a comma";
    EXPECT_TRUE(b->readonly);
    EXPECT_STREQ(b->id, "data");
    pc_options_free(&p.o);

    p = Parse({ "-drive", "file=/a,format=raw,if=none,id=d0", "-device", "virtio-blk-pci,drive=d0" });
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_TRUE(static_cast<PcDriveSpec *>(p.o.drives->pdata[0])->has_device);
    pc_options_free(&p.o);

    ExpectError({ "-drive", "file=/a,format=qcow2,if=virtio" }, "-drive file=/a,format=qcow2,if=virtio: format 'qcow2'");
    ExpectError({ "-drive", "file=/a,format=raw,if=ide" }, "interface 'ide' is not supported");
    ExpectError({ "-drive", "file=/a,format=raw" }, "if= is missing");
    ExpectError({ "-drive", "format=raw,if=virtio" }, "file= is missing");
    ExpectError({ "-drive", "file=/a,format=raw,if=virtio,readonly=maybe" }, "readonly must be on or off");
    ExpectError({ "-drive", "file=/a,format=raw,if=virtio,bogus=1" }, "unknown parameter 'bogus'");
    ExpectError({ "-drive", "file=/a,format=raw,if=virtio,snapshot" }, "'snapshot' is not key=value");
    ExpectError({ "-drive", "file=/a,format=raw,if=virtio,id=x", "-drive", "file=/b,format=raw,if=virtio,id=x" },
                "duplicate id 'x'");
    ExpectError({ "-drive", "file=/a,format=raw,if=none,id=d0" }, "if=none needs a -device virtio-blk-pci,drive=d0");
    ExpectError({ "-device", "virtio-blk-pci,drive=nope" }, "there is no -drive with id 'nope'");
}

TEST(Options, NetworkAndDevices)
{
    Parsed p = Parse({ "-netdev", "user,id=n0,hostfwd=tcp::2222-:22,hostfwd=tcp:127.0.0.1:8080-10.0.2.15:80",
                       "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-rng-pci" });
    ASSERT_TRUE(p.ok) << p.error;
    ASSERT_EQ(p.o.netdevs->len, 1u);
    auto *n = static_cast<PcNetdevSpec *>(p.o.netdevs->pdata[0]);
    EXPECT_STREQ(n->id, "n0");
    ASSERT_EQ(n->hostfwd->len, 3u) << "two rules and the NULL the net API wants";
    EXPECT_STREQ((char *)n->hostfwd->pdata[0], "tcp::2222-:22");
    EXPECT_EQ(n->hostfwd->pdata[2], nullptr);
    EXPECT_TRUE(p.o.rng);
    pc_options_free(&p.o);

    // -device before -netdev is fine, as in QEMU.
    p = Parse({ "-device", "virtio-net-pci,netdev=n0", "-netdev", "user,id=n0" });
    EXPECT_TRUE(p.ok) << p.error;
    pc_options_free(&p.o);

    ExpectError({ "-netdev", "tap,id=n0" }, "-netdev tap,id=n0: only user networking");
    ExpectError({ "-netdev", "user" }, "id= is missing");
    ExpectError({ "-netdev", "user,id=n0,hostfwd=tcp::70000-:22", "-device", "virtio-net-pci,netdev=n0" },
                "bad hostfwd 'tcp::70000-:22'");
    ExpectError({ "-netdev", "user,id=n0,hostfwd=tcp::22", "-device", "virtio-net-pci,netdev=n0" }, "bad hostfwd");
    ExpectError({ "-netdev", "user,id=n0,hostfwd=sctp::1-:2" }, "bad hostfwd");
    ExpectError({ "-netdev", "user,id=n0,smb=/x" }, "unknown parameter 'smb'");
    ExpectError({ "-netdev", "user,id=n0" }, "no -device virtio-net-pci,netdev=n0 uses it");
    ExpectError({ "-device", "virtio-net-pci,netdev=zz" }, "-device virtio-net-pci,netdev=zz: there is no -netdev");
    ExpectError({ "-device", "virtio-net-pci" }, "netdev= is missing");
    ExpectError({ "-device", "e1000,netdev=n0" }, "-device e1000,netdev=n0: unsupported device");
    ExpectError({ "-device", "virtio-rng-pci,max-bytes=5" }, "unknown parameter 'max-bytes'");
    ExpectError({ "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0", "-device",
                  "virtio-net-pci,netdev=n0" },
                "already used");
}

TEST(Options, Serial)
{
    Parsed p = Parse({ "-serial", "stdio", "-serial", "unix:/tmp/s,server=on,wait=off" });
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.o.nr_serial, 2);
    EXPECT_EQ(p.o.serial[0].kind, PC_CHAR_STDIO);
    EXPECT_EQ(p.o.serial[1].kind, PC_CHAR_UNIX_SERVER);
    EXPECT_STREQ(p.o.serial[1].path, "/tmp/s");
    EXPECT_FALSE(p.o.serial[1].wait);
    pc_options_free(&p.o);

    p = Parse({ "-serial", "file:/tmp/log", "-serial", "unix:/tmp/s,server" });
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.o.serial[0].kind, PC_CHAR_FILE);
    EXPECT_STREQ(p.o.serial[0].path, "/tmp/log");
    EXPECT_TRUE(p.o.serial[1].wait) << "QEMU waits for a client unless wait=off";
    pc_options_free(&p.o);

    p = Parse({ "-serial", "unix:/tmp/s,server,nowait", "-serial", "none" });
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_FALSE(p.o.serial[0].wait);
    EXPECT_EQ(p.o.serial[1].kind, PC_CHAR_NONE);
    pc_options_free(&p.o);

    ExpectError({ "-serial", "pty" }, "-serial pty: unsupported character device");
    ExpectError({ "-serial", "unix:/tmp/s" }, "only server=on sockets");
    ExpectError({ "-serial", "unix:/tmp/s,server=on,wait=perhaps" }, "bad parameter 'wait'");
    ExpectError({ "-serial", "file:" }, "the file name is missing");
    ExpectError({ "-serial", "stdio", "-serial", "stdio" }, "stdio is already used");
    ExpectError({ "-serial", "none", "-serial", "none", "-serial", "none" }, "only 2 serial ports");
}

TEST(Options, QmpMonitorAndFlags)
{
    Parsed p = Parse({ "-qmp", "unix:/tmp/q.sock,server=on,wait=off", "-nographic", "-no-reboot", "-S", "-name",
                       "guest=vm1,debug-threads=on", "-pidfile", "/tmp/p", "-d", "int,guest_errors,in_asm", "-D",
                       "/tmp/log", "-monitor", "none", "-display", "none", "-nodefaults" });
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_STREQ(p.o.qmp_path, "/tmp/q.sock");
    EXPECT_FALSE(p.o.qmp_wait);
    EXPECT_TRUE(p.o.nographic);
    EXPECT_TRUE(p.o.no_reboot);
    EXPECT_TRUE(p.o.start_paused);
    EXPECT_STREQ(p.o.name, "vm1");
    EXPECT_STREQ(p.o.pidfile, "/tmp/p");
    EXPECT_EQ(p.o.log_mask, (unsigned)(MACHINE_LOG_INT | MACHINE_LOG_GUEST_ERRORS | MACHINE_LOG_IN_ASM));
    EXPECT_STREQ(p.o.logfile, "/tmp/log");
    EXPECT_TRUE(p.o.monitor_none);
    pc_options_free(&p.o);

    ExpectError({ "-qmp", "stdio" }, "-qmp stdio: QMP needs a unix socket");
    ExpectError({ "-qmp", "unix:/tmp/q" }, "only server=on");
    ExpectError({ "-monitor", "vc" }, "-monitor vc: unsupported monitor");
    ExpectError({ "-d", "int,bogus" }, "-d int,bogus: unknown item 'bogus'");
    ExpectError({ "-display", "gtk" }, "-display gtk");
}

TEST(Options, HelpVersionAndUnknown)
{
    Parsed p = Parse({ "-h" });
    EXPECT_TRUE(p.ok);
    EXPECT_EQ(p.o.action, PC_OPTIONS_HELP);
    pc_options_free(&p.o);
    p = Parse({ "-version", "-bogus" });
    EXPECT_TRUE(p.ok) << "-version wins over what follows";
    EXPECT_EQ(p.o.action, PC_OPTIONS_VERSION);
    pc_options_free(&p.o);
    p = Parse({ "-d", "help" });
    EXPECT_EQ(p.o.action, PC_OPTIONS_LOG_HELP);
    pc_options_free(&p.o);
    EXPECT_NE(std::string(pc_options_usage()).find("-drive"), std::string::npos);
    EXPECT_NE(std::string(pc_log_items_help()).find("guest_errors"), std::string::npos);

    ExpectError({ "-foo" }, "unknown option '-foo'");
    ExpectError({ "--foo" }, "unknown option '--foo'");
    ExpectError({ "disk.img" }, "'disk.img' is not an option");
}

}  // namespace
