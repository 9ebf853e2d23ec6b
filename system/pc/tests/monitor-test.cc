// The human monitor's commands (monitor.c) against the fake machine, and its line editing.
#include "system/pc/tests/fake-machine.h"

extern "C" {
#include "system/pc/monitor.h"
}

namespace {

std::string Command(FakeMachine &fm, const char *line)
{
    machine_lock(&fm.m);
    char *out = pc_monitor_command(&fm.m, line);
    machine_unlock(&fm.m);
    std::string s = out;
    g_free(out);
    return s;
}

TEST(Monitor, InfoCommands)
{
    FakeMachine fm(2);
    fm.Start();
    EXPECT_EQ(Command(fm, "info status"), "VM status: running\n");
    std::string cpus = Command(fm, "info cpus");
    EXPECT_NE(cpus.find("* CPU #0: thread_id="), std::string::npos) << cpus;
    EXPECT_NE(cpus.find("  CPU #1: thread_id="), std::string::npos) << cpus;
    EXPECT_NE(cpus.find("(waiting for SIPI)"), std::string::npos) << cpus;
    EXPECT_EQ(Command(fm, "info block"), "disk0: /images/disk0.raw (raw, read-only, 1048576 bytes)\n");
    EXPECT_NE(Command(fm, "info").find("info status"), std::string::npos);
    EXPECT_NE(Command(fm, "info bogus").find("unknown item 'bogus'"), std::string::npos);
    EXPECT_NE(Command(fm, "help").find("system_powerdown"), std::string::npos);
    EXPECT_NE(Command(fm, "frobnicate").find("unknown command: 'frobnicate'"), std::string::npos);
    EXPECT_EQ(Command(fm, "   "), "");
}

TEST(Monitor, StopContResetPowerdownQuit)
{
    FakeMachine fm(1);
    fm.Start();
    EXPECT_EQ(Command(fm, "stop"), "");
    EXPECT_EQ(Command(fm, "info status"), "VM status: paused\n");
    EXPECT_TRUE(fm.HasEvent("STOP"));
    Command(fm, "cont");
    EXPECT_EQ(Command(fm, "info status"), "VM status: running\n");
    EXPECT_TRUE(fm.HasEvent("RESUME"));
    Command(fm, "system_powerdown");
    EXPECT_EQ(fm.power_button_presses, 1);
    Command(fm, "system_reset");
    ASSERT_TRUE(fm.RunUntil([&] { return fm.HasEvent("RESET"); }));
    Command(fm, "quit");
    ASSERT_TRUE(fm.RunUntil([&] { return fm.HasEvent("SHUTDOWN"); }));
    EXPECT_EQ(fm.events.back().data, "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
}

struct Screen {
    std::string text;
    static void Write(void *opaque, const char *s) { static_cast<Screen *>(opaque)->text += s; }
};

TEST(Monitor, LineEditingEchoesAndRuns)
{
    FakeMachine fm(1);
    fm.Start();
    Screen screen;
    PcMonitor *mon = pc_monitor_new(&fm.m, Screen::Write, &screen);
    pc_monitor_enter(mon);
    EXPECT_NE(screen.text.find("(ember) "), std::string::npos);
    screen.text.clear();
    for (char c : std::string("info stx\x7f" "atus\r")) {
        pc_monitor_input(mon, (uint8_t)c);
    }
    EXPECT_EQ(screen.text, "info stx\b \batus\r\nVM status: running\r\n(ember) ") << "echo, erase, run, prompt";
    screen.text.clear();
    for (char c : std::string("garbage\x15stop\r")) {   // Ctrl-U kills the line
        pc_monitor_input(mon, (uint8_t)c);
    }
    machine_lock(&fm.m);
    EXPECT_STREQ(pc_vm_status(&fm.m), "paused");
    machine_unlock(&fm.m);
    pc_monitor_free(mon);
}

}  // namespace
