/*
 * The guest's view of /proc/self: exe is the program (not the emulator), maps lists the program's
 * own mapping and its stack, cmdline is argv, auxv holds the auxiliary vector the guest got, and
 * /proc/self/fd lists open descriptors.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static void check(const char *what, int ok)
{
    printf("%-44s %s\n", what, ok ? "ok" : "WRONG");
}

static size_t read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    size_t n = 0;
    ssize_t r;
    while (n < size && (r = read(fd, buf + n, size - n)) > 0)
        n += r;
    close(fd);
    return n;
}

int main(int argc, char **argv)
{
    char exe[PATH_MAX], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    check("readlink /proc/self/exe succeeds", n > 0);
    check("/proc/self/exe == realpath(argv[0])", realpath(argv[0], real) && strcmp(exe, real) == 0);
    const char *base = strrchr(exe, '/');
    printf("exe basename: %s\n", base ? base + 1 : exe);

    /* maps: a line naming our executable must cover main, and one must be [stack]. */
    FILE *f = fopen("/proc/self/maps", "r");
    check("open /proc/self/maps", f != NULL);
    char line[PATH_MAX + 128];
    int covers_main = 0, named_lines = 0, stack = 0, stack_has_local = 0, x_line = 0, bad_format = 0;
    uintptr_t here = (uintptr_t)&main;
    int local = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off;
        char perms[8];
        int path_at = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*x:%*x %*u %n", &lo, &hi, perms, &off, &path_at) < 4 ||
            lo >= hi || strlen(perms) != 4) {
            bad_format = 1;
            continue;
        }
        char *path = line + path_at;
        path[strcspn(path, "\n")] = 0;
        if (strcmp(path, real) == 0) {
            named_lines++;
            if (here >= lo && here < hi) {
                covers_main = 1;
                x_line = perms[0] == 'r' && perms[2] == 'x';
            }
        }
        if (strcmp(path, "[stack]") == 0) {
            stack = 1;
            stack_has_local = (uintptr_t)&local >= lo && (uintptr_t)&local < hi;
        }
    }
    if (f)
        fclose(f);
    check("maps lines parse", !bad_format);
    check("maps names the executable", named_lines > 0);
    check("maps: the executable's line covers main", covers_main);
    check("maps: that line is r-x", x_line);
    check("maps has [stack]", stack);
    check("maps: [stack] holds a local variable", stack_has_local);

    /* cmdline: argv joined by NULs. */
    static char buf[65536];
    size_t len = read_file("/proc/self/cmdline", buf, sizeof buf);
    size_t want = 0;
    int same = 1;
    for (int i = 0; i < argc; i++) {
        size_t l = strlen(argv[i]) + 1;
        same &= want + l <= len && memcmp(buf + want, argv[i], l) == 0;
        want += l;
    }
    check("/proc/self/cmdline == argv", same && len == want);

    /* auxv: the same pairs getauxval sees. */
    len = read_file("/proc/self/auxv", buf, sizeof buf);
    ElfW(auxv_t) *av = (ElfW(auxv_t) *)buf;
    int found_pagesz = 0, found_entry = 0, ended = 0;
    for (size_t i = 0; i < len / sizeof *av; i++) {
        if (av[i].a_type == AT_NULL) {
            ended = 1;
            break;
        }
        if (av[i].a_type == AT_PAGESZ)
            found_pagesz = av[i].a_un.a_val == 4096;
        if (av[i].a_type == AT_ENTRY)
            found_entry = av[i].a_un.a_val == getauxval(AT_ENTRY);
    }
    check("/proc/self/auxv ends with AT_NULL", ended);
    check("/proc/self/auxv AT_PAGESZ == 4096", found_pagesz);
    check("/proc/self/auxv AT_ENTRY == getauxval", found_entry);

    /* fd: a descriptor we open appears, pointing at the file by its absolute path. */
    int fd = open("procself-test-file", O_CREAT | O_RDWR, 0600);
    char fdpath[64], target[PATH_MAX], file_path[PATH_MAX];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fd);
    n = readlink(fdpath, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    check("/proc/self/fd/N names the opened file",
          n > 0 && realpath("procself-test-file", file_path) && strcmp(target, file_path) == 0);
    close(fd);
    unlink("procself-test-file");

    char self[64];
    n = readlink("/proc/self", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    check("/proc/self -> getpid()", n > 0 && atoi(self) == getpid());
    return 0;
}
