// The AFL environment as ember reads it: instrumented ranges (default, AFL_INST_LIBS, AFL_CODE_START/END,
// AFL_QEMU_INST_RANGES, exclusions), the map size, the entry point, persistent mode; and the block hash.
#include <gtest/gtest.h>
#include <stdlib.h>

extern "C" {
#include "user/linux/afl/afl.h"
}

namespace {

const char *const kVars[] = {
    "AFL_MAP_SIZE", "AFL_INST_LIBS", "AFL_QEMU_INST_RANGES", "AFL_QEMU_EXCLUDE_RANGES", "AFL_CODE_START",
    "AFL_CODE_END", "AFL_ENTRYPOINT", "AFL_QEMU_PERSISTENT_ADDR", "AFL_QEMU_PERSISTENT_RET",
    "AFL_QEMU_PERSISTENT_CNT", "AFL_QEMU_PERSISTENT_GPR", "AFL_QEMU_SNAPSHOT", "AFL_COMPCOV_LEVEL",
    "__AFL_SHM_ID", "__AFL_CMPLOG_SHM_ID",
};

class AflConfigTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        for (const char *v : kVars) {
            unsetenv(v);
        }
        afl = AflState();
        img = LinuxElfImage();
        img.start_code = 0x400000;
        img.end_code = 0x401000;
        img.prog_entry = 0x400100;
    }
    LinuxElfImage img;
};

TEST_F(AflConfigTest, DefaultsInstrumentTheProgramOnly)
{
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_EQ(8192u, afl.map_size);   // two entries per byte of the program's 4 KiB of code
    EXPECT_EQ(0x400100u, afl.entry);
    EXPECT_TRUE(afl_pc_instrumented(0x400000));
    EXPECT_TRUE(afl_pc_instrumented(0x400fff));
    EXPECT_FALSE(afl_pc_instrumented(0x401000));
    EXPECT_FALSE(afl_pc_instrumented(0x7f0000001000));
    EXPECT_EQ(nullptr, afl.map);
    EXPECT_EQ(0u, afl.persist_addr);
}

TEST_F(AflConfigTest, TheMapGrowsWithTheCodeUpTo64K)
{
    const struct {
        uint64_t code;
        bool inst_libs;
        uint32_t map;
    } cases[] = {
        {0x3000, false, 32768},    // 12 KiB: 24K entries, rounded up
        {0x100000, false, 65536},  // large: afl's 64 KiB at most
        {0x100, false, 4096},      // tiny: still a page
        {0x1000, true, 65536},     // AFL_INST_LIBS: everything, afl's default
    };
    for (const auto &c : cases) {
        afl = AflState();
        img.end_code = img.start_code + c.code;
        if (c.inst_libs) {
            setenv("AFL_INST_LIBS", "1", 1);
        }
        ASSERT_EQ(0, afl_config_read(&img));
        EXPECT_EQ(c.map, afl.map_size) << "code " << c.code;
    }
}

TEST_F(AflConfigTest, InstLibsInstrumentsEverythingButExclusions)
{
    setenv("AFL_INST_LIBS", "1", 1);
    setenv("AFL_QEMU_EXCLUDE_RANGES", "0x7f0000000000-0x7f0000002000", 1);
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_TRUE(afl_pc_instrumented(0x7f0000003000));
    EXPECT_FALSE(afl_pc_instrumented(0x7f0000001000));
}

TEST_F(AflConfigTest, CodeStartEndReplaceTheDefault)
{
    setenv("AFL_CODE_START", "0x400800", 1);
    setenv("AFL_CODE_END", "0x400900", 1);
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_FALSE(afl_pc_instrumented(0x400100));
    EXPECT_TRUE(afl_pc_instrumented(0x400850));
}

TEST_F(AflConfigTest, InstRangesTakeSeveralRanges)
{
    setenv("AFL_QEMU_INST_RANGES", "0x1000-0x2000, 0x5000-0x6000", 1);
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_TRUE(afl_pc_instrumented(0x1000));
    EXPECT_TRUE(afl_pc_instrumented(0x5fff));
    EXPECT_FALSE(afl_pc_instrumented(0x3000));
    EXPECT_FALSE(afl_pc_instrumented(0x400100));   // the default range is replaced
}

TEST_F(AflConfigTest, BadValuesAreErrors)
{
    setenv("AFL_QEMU_INST_RANGES", "0x2000-0x1000", 1);
    EXPECT_EQ(-1, afl_config_read(&img));
    unsetenv("AFL_QEMU_INST_RANGES");
    setenv("AFL_ENTRYPOINT", "main", 1);
    EXPECT_EQ(-1, afl_config_read(&img));
    unsetenv("AFL_ENTRYPOINT");
    setenv("AFL_MAP_SIZE", "12", 1);
    EXPECT_EQ(-1, afl_config_read(&img));
}

TEST_F(AflConfigTest, MapSizeRoundsDownToAPowerOfTwo)
{
    setenv("AFL_MAP_SIZE", "100000", 1);
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_EQ(65536u, afl.map_size);
    setenv("AFL_MAP_SIZE", "262144", 1);
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_EQ(262144u, afl.map_size);
}

TEST_F(AflConfigTest, PersistentModeForksAtTheFunction)
{
    setenv("AFL_QEMU_PERSISTENT_ADDR", "0x400200", 1);
    setenv("AFL_QEMU_PERSISTENT_CNT", "50", 1);
    setenv("AFL_QEMU_PERSISTENT_GPR", "1", 1);
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_EQ(0x400200u, afl.persist_addr);
    EXPECT_EQ(0x400200u, afl.entry);
    EXPECT_EQ(50u, afl.persist_cnt);
    EXPECT_TRUE(afl.persist_gpr);
    EXPECT_FALSE(afl.persist_mem);
    setenv("AFL_ENTRYPOINT", "0x400100", 1);
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_EQ(0x400100u, afl.entry);   // an explicit entry point wins
}

TEST_F(AflConfigTest, SnapshotIsPersistentWithMemoryAndRegisters)
{
    setenv("AFL_QEMU_SNAPSHOT", "0x400300", 1);
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_EQ(0x400300u, afl.persist_addr);
    EXPECT_TRUE(afl.persist_gpr);
    EXPECT_TRUE(afl.persist_mem);
    EXPECT_EQ(1000u, afl.persist_cnt);
    setenv("AFL_QEMU_PERSISTENT_ADDR", "0x400300", 1);   // both: still registers and memory
    ASSERT_EQ(0, afl_config_read(&img));
    EXPECT_TRUE(afl.persist_gpr);
    EXPECT_TRUE(afl.persist_mem);
}

TEST(AflHashTest, MatchesQemuModesFormula)
{
    uint64_t pc = 0x555555555169ULL;
    EXPECT_EQ((uint32_t)(((pc >> 4) ^ (pc << 8)) & 0xffff), afl_hash_pc(pc, 0xffff));
    EXPECT_LT(afl_hash_pc(0xdeadbeef, 0xfff), 0x1000u);
    EXPECT_NE(afl_hash_pc(0x401000, 0xffff), afl_hash_pc(0x401010, 0xffff));
}

}  // namespace
