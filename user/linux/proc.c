/*
 * /proc/self as the guest should see it. The host's files describe ember, so the ones that would give it
 * away are made up here: exe (the guest program), maps (the guest's mappings only), auxv (the guest's
 * vector), cmdline and environ (the guest's strings, read live from its stack as the kernel does).
 * Generated files are served as a memfd holding the text, positioned at 0. Everything else under /proc
 * (stat, status, fd/, ...) is the host's and passes through.
 */
#define _GNU_SOURCE
#include "user/linux/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <glib.h>

#include "user/linux/elf-load.h"
#include "user/linux/guest-mem.h"
#include "user/linux/stack.h"

typedef enum ProcFile { PROC_NONE, PROC_EXE, PROC_MAPS, PROC_AUXV, PROC_CMDLINE, PROC_ENVIRON } ProcFile;

static const struct { const char *name; ProcFile file; } proc_files[] = {
    { "exe", PROC_EXE },         { "maps", PROC_MAPS },       { "auxv", PROC_AUXV },
    { "cmdline", PROC_CMDLINE }, { "environ", PROC_ENVIRON },
};

static bool is_number(const char *s, long *value)
{
    char *end;
    if (!g_ascii_isdigit(s[0]))
        return false;
    *value = strtol(s, &end, 10);
    return *end == '\0';
}

/* The absolute form of (dirfd, path), or NULL when it cannot be known. g_free it. */
static char *absolute_path(int dirfd, const char *path)
{
    if (path[0] == '/')
        return g_strdup(path);
    char base[4096];
    if (dirfd == AT_FDCWD) {
        if (!getcwd(base, sizeof(base)))
            return NULL;
    } else {
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
        ssize_t n = readlink(link, base, sizeof(base) - 1);
        if (n <= 0)
            return NULL;
        base[n] = '\0';
    }
    return g_strconcat(base, "/", path, NULL);
}

/*
 * Which of our files a path names: /proc/{self,thread-self,<our pid>}[/task/<tid>]/<name>, with repeated
 * slashes and "." tolerated. Anything else (other processes, "..") is not ours.
 */
static ProcFile proc_classify(int dirfd, const char *path)
{
    char *abs = absolute_path(dirfd, path);
    if (!abs)
        return PROC_NONE;
    char **parts = g_strsplit(abs, "/", -1);
    const char *comp[8];
    int n = 0;
    bool ok = true;
    for (int i = 0; parts[i] && ok; i++) {
        if (parts[i][0] == '\0' || strcmp(parts[i], ".") == 0)
            continue;
        if (strcmp(parts[i], "..") == 0 || n == 8)
            ok = false;
        else
            comp[n++] = parts[i];
    }
    ProcFile file = PROC_NONE;
    long num;
    if (ok && n >= 3 && strcmp(comp[0], "proc") == 0 &&
        (strcmp(comp[1], "self") == 0 || strcmp(comp[1], "thread-self") == 0 ||
         (is_number(comp[1], &num) && num == getpid()))) {
        int at = 2;
        if (n == 5 && strcmp(comp[2], "task") == 0 && is_number(comp[3], &num))
            at = 4;
        if (at == n - 1)
            for (size_t i = 0; i < G_N_ELEMENTS(proc_files); i++)
                if (strcmp(comp[at], proc_files[i].name) == 0)
                    file = proc_files[i].file;
    }
    g_strfreev(parts);
    g_free(abs);
    return file;
}

/* The guest's bytes in [start, end), if they are still the guest's readable memory. */
static GByteArray *guest_bytes(uint64_t start, uint64_t end)
{
    GByteArray *out = g_byte_array_new();
    if (end > start && guest_mem_is_guest(start, end - start) && (guest_mem_prot_at(start) & PROT_READ) &&
        (guest_mem_prot_at(end - 1) & PROT_READ))
        g_byte_array_append(out, (const guint8 *)(uintptr_t)start, (guint)(end - start));
    return out;
}

static GByteArray *proc_content(ProcFile file)
{
    const LinuxStack *st = linux_stack_current();
    GByteArray *out;
    switch (file) {
    case PROC_MAPS: {
        size_t len;
        char *text = guest_mem_format_maps(&len);
        out = g_byte_array_new_take((guint8 *)text, len);
        break;
    }
    case PROC_AUXV: {
        size_t bytes;
        const uint64_t *av = linux_stack_auxv(&bytes);
        out = g_byte_array_new();
        if (av)
            g_byte_array_append(out, (const guint8 *)av, (guint)bytes);
        break;
    }
    case PROC_CMDLINE:
        out = st ? guest_bytes(st->arg_start, st->arg_end) : g_byte_array_new();
        break;
    case PROC_ENVIRON:
        out = st ? guest_bytes(st->env_start, st->env_end) : g_byte_array_new();
        break;
    default:
        out = g_byte_array_new();
        break;
    }
    return out;
}

/* An fd reading back `data` from offset 0. */
static int serve_memfd(const GByteArray *data, int flags)
{
    int fd = memfd_create("ember-proc", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
    if (fd < 0)
        return -errno;
    size_t done = 0;
    while (done < data->len) {
        ssize_t n = write(fd, data->data + done, data->len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int ret = -errno;
            close(fd);
            return ret;
        }
        done += n;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

int linux_proc_open(int dirfd, const char *path, int flags, mode_t mode)
{
    ProcFile file = proc_classify(dirfd, path);
    const LinuxElfImage *img = linux_elf_current();
    if (file == PROC_NONE || !img)
        return LINUX_PROC_NOT_OURS;
    if (file == PROC_EXE) {
        int fd = open(img->exe_path, flags, mode);
        return fd < 0 ? -errno : fd;
    }
    /* The kernel's files are read-only (0444 / 0400) and not directories. */
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)))
        return -EACCES;
    if (flags & O_DIRECTORY)
        return -ENOTDIR;
    GByteArray *data = proc_content(file);
    int fd = serve_memfd(data, flags);
    g_byte_array_unref(data);
    return fd;
}

long linux_proc_readlink(int dirfd, const char *path, char *buf, size_t size)
{
    ProcFile file = proc_classify(dirfd, path);
    const LinuxElfImage *img = linux_elf_current();
    if (file != PROC_EXE || !img)
        return file == PROC_NONE || !img ? LINUX_PROC_NOT_OURS : -EINVAL;   /* not a link */
    if ((ssize_t)size <= 0)
        return -EINVAL;
    /* Like readlink(2): no terminating NUL, silently cut to the buffer. */
    size_t len = MIN(strlen(img->exe_path), size);
    /* buf is the guest's: a bad pointer must give -EFAULT, not crash ember, so the copy goes through the
       kernel (which checks it) after code pages in it are made writable again. */
    guest_mem_prepare_write((uintptr_t)buf, len);
    struct iovec from = { (void *)img->exe_path, len }, to = { buf, len };
    ssize_t n = process_vm_writev(getpid(), &from, 1, &to, 1, 0);
    if (n < 0 && errno == EFAULT)
        return -EFAULT;
    if (n != (ssize_t)len)
        memcpy(buf, img->exe_path, len);   /* the call is unavailable (seccomp, old kernel) */
    return (long)len;
}
