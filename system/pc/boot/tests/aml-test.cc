// The AML writer's encodings, checked against the byte sequences ACPI 6.x section 20 defines.
#include <gtest/gtest.h>

#include <vector>

extern "C" {
#include "system/pc/boot/boot-aml.h"
}

namespace {

std::vector<uint8_t> bytes(GByteArray *a)
{
    std::vector<uint8_t> v(a->data, a->data + a->len);
    g_byte_array_free(a, TRUE);
    return v;
}

TEST(BootAml, Integers)
{
    GByteArray *a = g_byte_array_new();
    aml_integer(a, 0);
    aml_integer(a, 1);
    aml_integer(a, 0x2a);
    aml_integer(a, 0x1234);
    aml_integer(a, 0x12345678);
    aml_integer(a, 0x100000000ull);
    std::vector<uint8_t> want = { 0x00, 0x01, 0x0a, 0x2a, 0x0b, 0x34, 0x12, 0x0c, 0x78, 0x56, 0x34, 0x12,
                                  0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };
    EXPECT_EQ(bytes(a), want);
}

TEST(BootAml, EisaId)
{
    EXPECT_EQ(aml_eisa_id("PNP0A03"), 0x030ad041u);
    EXPECT_EQ(aml_eisa_id("PNP0501"), 0x0105d041u);
}

TEST(BootAml, PkgLengthOneAndTwoBytes)
{
    // A 10-byte buffer: Name, "BUFA", BufferOp, PkgLength (1 byte: 1 + 2 + 10 = 13), BytePrefix 10, data.
    std::vector<uint8_t> data(10, 0xaa);
    GByteArray *a = g_byte_array_new();
    aml_name_buffer(a, "BUFA", data.data(), data.size());
    std::vector<uint8_t> v = bytes(a);
    ASSERT_EQ(v.size(), 1 + 4 + 1 + 1 + 2 + 10u);
    EXPECT_EQ(v[5], 0x11);
    EXPECT_EQ(v[6], 13);
    EXPECT_EQ(v[7], 0x0a);
    EXPECT_EQ(v[8], 10);

    // 100 bytes: body = 2 (BytePrefix 100) + 100; total with a 2-byte PkgLength = 104 = 0x68.
    data.assign(100, 0xbb);
    a = g_byte_array_new();
    aml_name_buffer(a, "BUFB", data.data(), data.size());
    v = bytes(a);
    EXPECT_EQ(v[6], 0x40 | 0x8) << "one more byte; low nibble of 0x68";
    EXPECT_EQ(v[7], 0x06);
    EXPECT_EQ(v.size(), 6 + 104u);
}

TEST(BootAml, DeviceInScope)
{
    GByteArray *body = g_byte_array_new();
    aml_name_integer(body, "_UID", 0);
    GByteArray *dev = g_byte_array_new();
    aml_device(dev, "DEV0", body);
    GByteArray *a = g_byte_array_new();
    aml_scope(a, "\\_SB_", dev);
    std::vector<uint8_t> want = { 0x10, 1 + 5 + 13, '\\', '_', 'S', 'B', '_',
                                  0x5b, 0x82, 1 + 4 + 6, 'D', 'E', 'V', '0',
                                  0x08, '_', 'U', 'I', 'D', 0x00 };
    EXPECT_EQ(bytes(a), want);
    g_byte_array_free(body, TRUE);
    g_byte_array_free(dev, TRUE);
}

}  // namespace
