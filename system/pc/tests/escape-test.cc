// The console's Ctrl-A escapes and raw-mode settings (chardev-escape.c), as QEMU's -nographic console.
#include <gtest/gtest.h>

#include <string>
#include <vector>

extern "C" {
#include <termios.h>

#include "system/pc/chardev-escape.h"
}

namespace {

struct Fed {
    std::string bytes;
    std::vector<PcEscapeAction> actions;   // everything but NONE and BYTE
};

Fed Feed(const std::string &in)
{
    PcEscape e = {};
    Fed f;
    for (unsigned char c : in) {
        uint8_t out = 0;
        PcEscapeAction a = pc_escape_feed(&e, c, &out);
        if (a == PC_ESC_BYTE) {
            f.bytes.push_back((char)out);
        } else if (a != PC_ESC_NONE) {
            f.actions.push_back(a);
        }
    }
    return f;
}

TEST(Escape, PlainBytesPassThrough)
{
    Fed f = Feed(std::string("ls -l\r\x03\x04\x7f", 9));
    EXPECT_EQ(f.bytes, std::string("ls -l\r\x03\x04\x7f", 9));
    EXPECT_TRUE(f.actions.empty());
}

TEST(Escape, CtrlAxQuits)
{
    Fed f = Feed("ab\x01x");
    EXPECT_EQ(f.bytes, "ab");
    ASSERT_EQ(f.actions.size(), 1u);
    EXPECT_EQ(f.actions[0], PC_ESC_QUIT);
}

TEST(Escape, CtrlAcTogglesMonitorAndCtrlAhHelps)
{
    Fed f = Feed("\x01" "c" "info\x01" "h" "\x01" "c");
    EXPECT_EQ(f.bytes, "info");
    ASSERT_EQ(f.actions.size(), 3u);
    EXPECT_EQ(f.actions[0], PC_ESC_MONITOR);
    EXPECT_EQ(f.actions[1], PC_ESC_HELP);
    EXPECT_EQ(f.actions[2], PC_ESC_MONITOR);
}

TEST(Escape, CtrlACtrlASendsOneCtrlA)
{
    Fed f = Feed("\x01\x01" "x");
    EXPECT_EQ(f.bytes, "\x01x") << "the second Ctrl-A is data, so the x after it is too";
    EXPECT_TRUE(f.actions.empty());
}

TEST(Escape, UnknownEscapeIsDropped)
{
    Fed f = Feed("\x01qz");
    EXPECT_EQ(f.bytes, "z");
    EXPECT_TRUE(f.actions.empty());
}

TEST(Escape, StateSurvivesSplitReads)
{
    PcEscape e = {};
    uint8_t out;
    EXPECT_EQ(pc_escape_feed(&e, 0x01, &out), PC_ESC_NONE);   // end of one read()
    EXPECT_EQ(pc_escape_feed(&e, 'x', &out), PC_ESC_QUIT);   // start of the next
}

TEST(Escape, HelpNamesTheKeys)
{
    std::string h = pc_escape_help();
    EXPECT_NE(h.find("C-a x"), std::string::npos);
    EXPECT_NE(h.find("C-a c"), std::string::npos);
    EXPECT_NE(h.find("C-a h"), std::string::npos);
}

TEST(Escape, RawModeTurnsOffEchoCanonicalAndSignals)
{
    struct termios t = {};
    t.c_iflag = ICRNL | IXON | BRKINT;
    t.c_oflag = OPOST | ONLCR;
    t.c_lflag = ECHO | ICANON | ISIG | IEXTEN;
    t.c_cflag = CS7 | PARENB;
    pc_termios_make_raw(&t);
    EXPECT_EQ(t.c_lflag & (ECHO | ICANON | ISIG | IEXTEN), 0u) << "Ctrl-C must reach the guest";
    EXPECT_EQ(t.c_iflag & (ICRNL | IXON | BRKINT), 0u);
    EXPECT_EQ(t.c_cflag & CSIZE, (tcflag_t)CS8);
    EXPECT_EQ(t.c_cflag & PARENB, 0u);
    EXPECT_EQ(t.c_oflag & (OPOST | ONLCR), (tcflag_t)(OPOST | ONLCR)) << "guest \\n still starts a line";
    EXPECT_EQ(t.c_cc[VMIN], 1);
    EXPECT_EQ(t.c_cc[VTIME], 0);
}

}  // namespace
