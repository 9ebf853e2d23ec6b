/* pc_boot_load: reads the kernel, tells a bzImage from a multiboot kernel, and hands it to its loader. */
#include "system/pc/boot/boot-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(pc-boot-error-quark, pc_boot_error)

bool pc_boot_file_size(const char *path, uint64_t *size, GError **err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: %s", path, g_strerror(errno));
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: not a regular file", path);
        return false;
    }
    *size = (uint64_t)st.st_size;
    return true;
}

/* Read exactly size bytes of the file into dst. */
static bool read_exact(const char *path, uint8_t *dst, uint64_t size, GError **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: %s", path, g_strerror(errno));
        return false;
    }
    uint64_t done = 0;
    while (done < size) {
        ssize_t n = read(fd, dst + done, MIN(size - done, (uint64_t)1 << 30));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            g_set_error(err, PC_BOOT_ERROR, 0, "%s: %s", path, n < 0 ? g_strerror(errno) : "file shrank while reading");
            close(fd);
            return false;
        }
        done += (uint64_t)n;
    }
    close(fd);
    return true;
}

bool pc_boot_read_file(const char *path, uint8_t **data, gsize *len, GError **err)
{
    uint64_t size;
    if (!pc_boot_file_size(path, &size, err)) {
        return false;
    }
    if (size > (uint64_t)1 << 32) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: too large for a kernel", path);
        return false;
    }
    uint8_t *buf = g_malloc(size + 1);
    if (!read_exact(path, buf, size, err)) {
        g_free(buf);
        return false;
    }
    *data = buf;
    *len = size;
    return true;
}

bool pc_boot_read_into_ram(Machine *m, const char *path, uint64_t gpa, uint64_t size, GError **err)
{
    uint8_t *dst = machine_ram_ptr(m, gpa, size);
    if (!dst) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: does not fit in guest RAM at 0x%" PRIx64 "",
                    path, gpa);
        return false;
    }
    if (!read_exact(path, dst, size, err)) {
        return false;
    }
    machine_ram_written(m, gpa, size);
    return true;
}

bool pc_boot_ram_write(Machine *m, uint64_t gpa, const void *buf, uint64_t len)
{
    return len == 0 || machine_ram_write(m, gpa, buf, len);
}

bool pc_boot_ram_zero(Machine *m, uint64_t gpa, uint64_t len)
{
    if (len == 0) {
        return true;
    }
    void *p = machine_ram_ptr(m, gpa, len);
    if (!p) {
        return false;
    }
    memset(p, 0, len);
    machine_ram_written(m, gpa, len);
    return true;
}

/*
 * The BIOS data area fields kernels read even without a BIOS: the EBDA's segment (0x40E), which Linux
 * keeps away from, and the base memory size in KiB (0x413).
 */
static void pc_boot_write_bda(Machine *m)
{
    uint8_t v[2];
    pc_st16(v, (uint16_t)(PC_BOOT_EBDA >> 4));
    pc_boot_ram_write(m, PC_BOOT_BDA + 0x0E, v, 2);
    pc_st16(v, (uint16_t)(PC_BOOT_EBDA >> 10));
    pc_boot_ram_write(m, PC_BOOT_BDA + 0x13, v, 2);
}

bool pc_boot_load(Machine *m, const PcBootConfig *cfg, GError **err)
{
    if (!cfg->kernel) {
        g_set_error(err, PC_BOOT_ERROR, 0, "no kernel given");
        return false;
    }
    if (m->nr_vcpus < 1 || !m->vcpus) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: the machine has no CPU to boot", cfg->kernel);
        return false;
    }
    /* Low memory holds our tables and the kernels go at 1 MiB: below 2 MiB nothing useful boots. */
    if (m->ram_low < 2 * 1024 * 1024) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: at least 2 MiB of RAM are needed to boot", cfg->kernel);
        return false;
    }
    uint8_t *data;
    gsize len;
    if (!pc_boot_read_file(cfg->kernel, &data, &len, err)) {
        return false;
    }
    /* Ours to fill: earlier contents (a previous boot) must not leak into the tables. */
    pc_boot_ram_zero(m, 0, PC_BOOT_CMDLINE + PC_BOOT_CMDLINE_MAX);
    pc_boot_ram_zero(m, PC_BOOT_EBDA, PC_BOOT_BIOS_END - PC_BOOT_EBDA);
    pc_boot_write_bda(m);

    bool ok;
    long mb;
    if (pc_boot_is_bzimage(data, len)) {
        ok = pc_boot_linux(m, cfg, data, len, err);
    } else if ((mb = pc_boot_multiboot_header(data, len)) >= 0) {
        ok = pc_boot_multiboot(m, cfg, data, len, mb, err);
    } else {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: not a bzImage or multiboot kernel", cfg->kernel);
        ok = false;
    }
    g_free(data);
    return ok && pc_acpi_build(m, err);
}
