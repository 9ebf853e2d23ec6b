/*
 * execve: an x86-64 ELF program (or a #! script whose interpreter is one) runs under ember again with the
 * same options; anything else goes to the host kernel as it is.
 */
#define _GNU_SOURCE   /* AT_EMPTY_PATH */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "user/linux/exec.h"
#include "user/linux/sys-families.h"
#include "user/linux/syscall.h"
#include "user/linux/tb-cache.h"
#include "user/linux/thread.h"

static bool file_is_x86_64_elf(const char *head, ssize_t n)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
    return n >= (ssize_t)sizeof(Elf64_Ehdr) && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
           eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_machine == EM_X86_64;
}

bool linux_shebang_parse(char *head, ssize_t n, char **interp, char **arg)
{
    if (n < 3 || head[0] != '#' || head[1] != '!') {
        return false;
    }
    head[n < LINUX_SHEBANG_MAX ? n : LINUX_SHEBANG_MAX - 1] = '\0';
    char *line = head + 2;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
    }
    line = g_strstrip(line);
    if (!*line) {
        return false;
    }
    char *space = strpbrk(line, " \t");
    *interp = line;
    *arg = NULL;
    if (space) {
        *space = '\0';
        char *rest = g_strstrip(space + 1);
        *arg = *rest ? rest : NULL;
    }
    return true;
}

static long sys_execve(CPUX86State *env, const long a[6])
{
    (void)env;
    const char *path = (const char *)a[0];
    char *const *argv = (char *const *)a[1];
    char *const *envp = (char *const *)a[2];

    if (access(path, X_OK) != 0) {
        return -errno;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    char head[LINUX_SHEBANG_MAX];
    ssize_t n = read(fd, head, sizeof(head) - 1);
    close(fd);
    if (n < 0) {
        return -errno;
    }
    linux_tb_cache_save();   /* what this program translated, before another one takes its place */

    GPtrArray *args = g_ptr_array_new();
    const LinuxOptions *o = linux_process.options;
    g_ptr_array_add(args, (gpointer)linux_process.ember_path);
    for (int i = 0; i < o->option_argc; i++) {
        /* -0 is per program: the new one gets its own argv[0] below. */
        if (strcmp(o->option_argv[i], "-0") == 0) {
            i++;
            continue;
        }
        g_ptr_array_add(args, o->option_argv[i]);
    }
    char *interp, *interp_arg;
    if (file_is_x86_64_elf(head, n)) {
        g_ptr_array_add(args, "-0");
        g_ptr_array_add(args, argv && argv[0] ? argv[0] : (char *)path);
        g_ptr_array_add(args, "--");
        g_ptr_array_add(args, (gpointer)path);
    } else if (linux_shebang_parse(head, n, &interp, &interp_arg)) {
        /* The kernel runs "interp [arg] path args...": do the same under ember. */
        g_ptr_array_add(args, "--");
        g_ptr_array_add(args, interp);
        if (interp_arg) {
            g_ptr_array_add(args, interp_arg);
        }
        g_ptr_array_add(args, (gpointer)path);
    } else {
        g_ptr_array_free(args, TRUE);
        return syscall(SYS_execve, path, argv, envp) < 0 ? -errno : 0;
    }
    for (int i = 1; argv && argv[0] && argv[i]; i++) {
        g_ptr_array_add(args, argv[i]);
    }
    g_ptr_array_add(args, NULL);
    long r = syscall(SYS_execve, linux_process.ember_path, (char **)args->pdata, envp);
    g_ptr_array_free(args, TRUE);
    return r < 0 ? -errno : 0;
}

/* execveat: the same, once (dirfd, path, AT_EMPTY_PATH) is made into one path. */
static long sys_execveat(CPUX86State *env, const long a[6])
{
    int dirfd = (int)a[0];
    const char *path = (const char *)a[1];
    int flags = (int)a[4];
    char buf[PATH_MAX];
    if (path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
        snprintf(buf, sizeof(buf), "/proc/self/fd/%d", dirfd);
    } else if (path[0] != '/' && dirfd != AT_FDCWD) {
        snprintf(buf, sizeof(buf), "/proc/self/fd/%d/%s", dirfd, path);
    } else {
        snprintf(buf, sizeof(buf), "%s", path);
    }
    const long args[6] = {(long)buf, a[2], a[3], 0, 0, 0};
    return sys_execve(env, args);
}

void linux_sys_proc_register(void)
{
    linux_syscall_register(SYS_execve, sys_execve);
    linux_syscall_register(SYS_execveat, sys_execveat);
}
