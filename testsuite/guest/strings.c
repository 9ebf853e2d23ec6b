/*
 * glibc's string functions over every length 0..300 and every source/destination alignment 0..63.
 * glibc picks SSE2, AVX2 or EVEX variants from CPUID, so this exercises whatever vector code the
 * emulated CPU model makes it choose; the results (and so the checksums) must not depend on it.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define MAXLEN 300
#define ALIGNS 64
#define BUF (MAXLEN + ALIGNS + 128)

static unsigned char src_mem[BUF + 64], dst_mem[BUF + 64];
static uint64_t h;

static void mix(uint64_t v)
{
    h = (h ^ v) * 0x100000001b3ull;
}

static void mix_mem(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mix(p[i]);
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(1 + (seed >> 16) % 255); /* never 0 */
    }
}

#define REPORT(name)                                                       \
    do {                                                                   \
        printf("%-10s %016llx\n", name, (unsigned long long)h);            \
        h = 0xcbf29ce484222325ull;                                         \
    } while (0)

int main(void)
{
    unsigned char *src = (unsigned char *)(((uintptr_t)src_mem + 63) & ~(uintptr_t)63);
    unsigned char *dst = (unsigned char *)(((uintptr_t)dst_mem + 63) & ~(uintptr_t)63);
    h = 0xcbf29ce484222325ull;

    for (int len = 0; len <= MAXLEN; len++)
        for (int sa = 0; sa < ALIGNS; sa += (len < 40 ? 1 : 7))
            for (int da = 0; da < ALIGNS; da += 13) {
                fill(src, BUF, len * 131 + sa);
                memset(dst, 0xee, BUF);
                memcpy(dst + da, src + sa, len);
                mix_mem(dst + (da > 8 ? da - 8 : 0), len + 16);
            }
    REPORT("memcpy");

    for (int len = 0; len <= MAXLEN; len += (len < 70 ? 1 : 5))
        for (int off = -70; off <= 70; off += 7) {
            fill(src, BUF, len + off * 3);
            memmove(src + 70 + off, src + 70, len);
            mix_mem(src, len + 150);
        }
    REPORT("memmove");

    for (int len = 0; len <= MAXLEN; len++)
        for (int a = 0; a < ALIGNS; a++) {
            fill(src, BUF, len);
            src[a + len] = 0;
            mix(strlen((char *)src + a));
            mix(strnlen((char *)src + a, len / 2));
        }
    REPORT("strlen");

    for (int len = 0; len <= MAXLEN; len += 3)
        for (int a = 0; a < ALIGNS; a += 5) {
            fill(src, BUF, len + a);
            src[a + len] = 0;
            char *s = (char *)src + a;
            int c = len ? s[len / 2] : 'x';
            char *p = strchr(s, c), *q = strrchr(s, c), *z = strchr(s, 0);
            void *m = memchr(s, c, len), *rm = memrchr(s, c, len);
            mix(p ? (uint64_t)(p - s) : 999);
            mix(q ? (uint64_t)(q - s) : 999);
            mix((uint64_t)(z - s));
            mix(m ? (uint64_t)((char *)m - s) : 999);
            mix(rm ? (uint64_t)((char *)rm - s) : 999);
            mix((uint64_t)(strchrnul(s, 1) - s));
        }
    REPORT("strchr");

    for (int len = 0; len <= MAXLEN; len++)
        for (int a = 0; a < ALIGNS; a += 9)
            for (int diff = -1; diff < len; diff += (len / 4 + 1)) {
                fill(src, BUF, len);
                memcpy(dst + a, src + (a / 3), len);
                if (diff >= 0)
                    dst[a + diff] ^= (unsigned char)(1 + (diff & 0x7f));
                src[a / 3 + len] = 0;
                dst[a + len] = 0;
                mix((uint64_t)sign(memcmp(src + a / 3, dst + a, len)));
                mix((uint64_t)sign(strcmp((char *)src + a / 3, (char *)dst + a)));
                mix((uint64_t)sign(strncmp((char *)src + a / 3, (char *)dst + a, len / 2 + 1)));
                mix((uint64_t)sign(strcasecmp((char *)src + a / 3, (char *)dst + a)));
            }
    REPORT("memcmp");

    for (int len = 0; len <= MAXLEN; len++)
        for (int a = 0; a < ALIGNS; a += 3) {
            memset(dst, 0x11, BUF);
            memset(dst + a, len & 0xff, len);
            mix_mem(dst, len + a + 16);
        }
    REPORT("memset");

    for (int len = 0; len <= MAXLEN; len += 2)
        for (int a = 0; a < 16; a++) {
            fill(src, BUF, len);
            src[len] = 0;
            memset(dst, 0x22, BUF);
            strcpy((char *)dst + a, (char *)src);
            mix_mem(dst, len + a + 4);
            strncpy((char *)dst + a, (char *)src, len / 2);
            char *e = stpcpy((char *)dst + a + 1, (char *)src);
            mix((uint64_t)(e - (char *)dst));
            strcat((char *)dst + a, "tail");
            mix_mem(dst, 2 * len + a + 8);
        }
    REPORT("strcpy");

    for (int len = 1; len <= MAXLEN; len += 4) {
        fill(src, BUF, len);
        for (int i = 0; i < len + 10; i++)
            src[i] = (unsigned char)('a' + src[i] % 3);
        src[len + 10] = 0;
        for (int nl = 1; nl < 12 && nl < len; nl++) {
            char needle[16];
            memcpy(needle, src + len - nl, nl);
            needle[nl] = 0;
            char *f = strstr((char *)src, needle);
            mix(f ? (uint64_t)(f - (char *)src) : 999);
            void *mm = memmem(src, len + 10, needle, nl);
            mix(mm ? (uint64_t)((unsigned char *)mm - src) : 999);
            mix(strspn((char *)src, "ab"));
            mix(strcspn((char *)src, "c"));
        }
    }
    REPORT("strstr");

    wchar_t ws[MAXLEN + 1];
    for (int len = 0; len <= MAXLEN; len += 7) {
        for (int i = 0; i < len; i++)
            ws[i] = (wchar_t)(0x41 + i % 40);
        ws[len] = 0;
        mix(wcslen(ws));
        wchar_t *c = wcschr(ws, 0x41 + 17);
        mix(c ? (uint64_t)(c - ws) : 999);
        mix((uint64_t)sign(wmemcmp(ws, ws, len)));
    }
    REPORT("wcs");
    return 0;
}
