// End to end: ember-x86_64 -strace runs a host program and prints its syscalls in strace's format.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

static std::string slurp(const std::string &path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(EmberStrace, EchoPrintsItsWrite)
{
    const char *dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
    std::string out = std::string(dir) + "/out.txt", err = std::string(dir) + "/err.txt";
    std::string cmd = "user/linux/ember-x86_64 -strace /bin/echo hello >" + out + " 2>" + err;
    ASSERT_EQ(system(cmd.c_str()), 0) << slurp(err);
    EXPECT_EQ(slurp(out), "hello\n");
    std::string trace = slurp(err);
    EXPECT_NE(trace.find(" write(1, \"hello\\n\", 6) = 6\n"), std::string::npos) << trace;
    EXPECT_NE(trace.find(" openat(AT_FDCWD, \"/lib/x86_64-linux-gnu/libc.so.6\", O_RDONLY|O_CLOEXEC) = 3\n"),
              std::string::npos) << trace;
    EXPECT_NE(trace.find(" exit_group(0) = ?\n"), std::string::npos) << trace;
    // every line starts with the pid
    std::istringstream lines(trace);
    for (std::string line; std::getline(lines, line);)
        EXPECT_TRUE(isdigit((unsigned char)line[0])) << line;
}

TEST(EmberStrace, QuietWithoutStrace)
{
    const char *dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
    std::string err = std::string(dir) + "/quiet.txt";
    std::string cmd = "user/linux/ember-x86_64 /bin/true 2>" + err;
    ASSERT_EQ(system(cmd.c_str()), 0);
    EXPECT_EQ(slurp(err), "");
}

// The guest sees what it sees natively: -ENOSYS for an unknown call, itself through /proc/self. The
// unknown number is reported once, its calls traced each time.
TEST(EmberStrace, GuestMatchesNativeRun)
{
    const char *dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
    std::string native = std::string(dir) + "/native.txt", emulated = std::string(dir) + "/emulated.txt",
                err = std::string(dir) + "/trace.txt";
    char prog[4096];
    ASSERT_NE(realpath("syscalls/tests/guest-prog", prog), nullptr);
    ASSERT_EQ(system((std::string(prog) + " >" + native).c_str()), 0);
    ASSERT_EQ(system(("user/linux/ember-x86_64 -strace " + std::string(prog) + " >" + emulated + " 2>" + err).c_str()), 0)
        << slurp(err);
    EXPECT_EQ(slurp(emulated), slurp(native));
    EXPECT_NE(slurp(native).find("syscall 999: -1 ENOSYS\n"), std::string::npos) << slurp(native);

    std::string trace = slurp(err);
    size_t first = trace.find("Unknown syscall 999\n");
    EXPECT_NE(first, std::string::npos) << trace;
    EXPECT_EQ(trace.find("Unknown syscall 999\n", first + 1), std::string::npos) << "printed twice";
    size_t call = trace.find(" syscall_999(0x1, 0x2, 0x3, ");
    ASSERT_NE(call, std::string::npos) << trace;
    EXPECT_NE(trace.find(" syscall_999(0x1, 0x2, 0x3, ", call + 1), std::string::npos) << trace;
    EXPECT_NE(trace.find(" readlink(\"/proc/self/exe\", \"" + std::string(prog).substr(0, 32) + "\""),
              std::string::npos) << trace;
}
