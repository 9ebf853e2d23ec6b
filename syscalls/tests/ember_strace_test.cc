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

TEST(EmberStrace, UnknownSyscallOnce)
{
    // a program that makes syscall 999 twice would need a guest binary of our own; the dispatcher test
    // covers it (dispatch_test). Here: without -strace, nothing is printed for an ordinary program.
    const char *dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
    std::string err = std::string(dir) + "/quiet.txt";
    std::string cmd = "user/linux/ember-x86_64 /bin/true 2>" + err;
    ASSERT_EQ(system(cmd.c_str()), 0);
    EXPECT_EQ(slurp(err), "");
}
