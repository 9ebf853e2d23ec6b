// Boots the default guest (Debian's kernel and the busybox initramfs that system/pc/boot/default-guest.sh
// builds into ~/.cache/ember/guest) on the TCG accelerator with one vCPU and waits for its shell. Manual:
// it needs the cached guest and a minute of CPU. Skipped when the guest is not there.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <sys/stat.h>

#include "system/pc/accel-tcg/tests/kernel-driver.h"

namespace {

std::string GuestDir()
{
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    std::string base = xdg && *xdg ? xdg : std::string(home ? home : "/root") + "/.cache";
    return base + "/ember/guest";
}

TEST(LinuxBoot, TheDefaultGuestReachesItsShell)
{
    std::string dir = GuestDir();
    std::string kernel = dir + "/vmlinuz", initrd = dir + "/initramfs.cpio.gz";
    struct stat st;
    if (stat(kernel.c_str(), &st) != 0 || stat(initrd.c_str(), &st) != 0) {
        GTEST_SKIP() << "no default guest in " << dir;
    }
    static char out[1 << 20], err[512];
    int timeout_s = getenv("LINUX_BOOT_TIMEOUT") ? atoi(getenv("LINUX_BOOT_TIMEOUT")) : 240;
    int r = kd_run_linux(kernel.c_str(), initrd.c_str(), "console=ttyS0 panic=-1", "ember guest: ready",
                         512ull << 20, timeout_s * 1000, out, sizeof(out), err, sizeof(err));
    EXPECT_EQ(r, KD_STOPPED) << err;
    std::string s = out;
    EXPECT_NE(s.find("Linux version"), std::string::npos) << err;
    EXPECT_NE(s.find("Run /init as init process"), std::string::npos) << s.substr(s.size() > 2000 ? s.size() - 2000 : 0);
    EXPECT_NE(s.find("ember guest: ready"), std::string::npos) << s.substr(s.size() > 2000 ? s.size() - 2000 : 0);
    EXPECT_EQ(s.find("Kernel panic"), std::string::npos);
}

}  // namespace
