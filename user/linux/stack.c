/*
 * Building the initial stack the way Linux's execve does (fs/exec.c copies the strings, binfmt_elf's
 * create_elf_tables writes the tables), from the top down:
 *
 *     8 zero bytes | AT_EXECFN string | envp strings | argv strings      (argv[0] lowest)
 *     align to 16 | "x86_64" (AT_PLATFORM) | 16 random bytes (AT_RANDOM)
 *     auxv pairs ending in AT_NULL | NULL | envp[] | NULL | argv[] | argc  <- rsp, 16-byte aligned
 *
 * No address randomisation. AT_SYSINFO_EHDR is the host's own vDSO (ember shares the guest's address
 * space): its code is translated like any guest code, and the clock pages it reads are the kernel's, so
 * glibc reads the clocks without a system call, as natively. Its pages stay ember's (ember's libc calls
 * into them too): the guest cannot unmap or protect them, and /proc/self/maps does not list them.
 */
#define _GNU_SOURCE
#include "user/linux/stack.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <unistd.h>

#include <glib.h>

#include "user/linux/guest-mem.h"

static uint64_t saved_auxv[LINUX_AUXV_MAX * 2];
static size_t saved_auxv_bytes;
static LinuxStack saved_stack;
static bool have_stack;

const uint64_t *linux_stack_auxv(size_t *bytes)
{
    if (bytes)
        *bytes = saved_auxv_bytes;
    return have_stack ? saved_auxv : NULL;
}

const LinuxStack *linux_stack_current(void) { return have_stack ? &saved_stack : NULL; }

static size_t count_strings(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* Copy s below *p; returns its address. */
static uint64_t push_string(uint64_t *p, const char *s)
{
    size_t len = strlen(s) + 1;
    *p -= len;
    memcpy((void *)(uintptr_t)*p, s, len);
    return *p;
}

static void fill_random(uint8_t out[16])
{
    size_t got = 0;
    while (got < 16) {
        ssize_t n = getrandom(out + got, 16 - got, 0);
        if (n <= 0)
            break;
        got += n;
    }
    /* getrandom cannot fail on a kernel we run on, but never leave the bytes predictable-by-accident. */
    for (; got < 16; got++)
        out[got] = (uint8_t)g_random_int();
}

/* The auxiliary vector, in create_elf_tables' order; returns the number of words (pairs * 2). */
static size_t build_auxv(uint64_t *av, const LinuxElfImage *img, const LinuxStackParams *p, uint64_t platform,
                         uint64_t random, uint64_t execfn)
{
    long clk = sysconf(_SC_CLK_TCK);
    uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
    const uint64_t pairs[][2] = {
        { AT_SYSINFO_EHDR, vdso },                                    /* x86's ARCH_DLINFO comes first */
        { AT_MINSIGSTKSZ, p->minsigstksz ? p->minsigstksz : 2048 },
        { AT_HWCAP, p->hwcap },
        { AT_PAGESZ, GUEST_PAGE_SIZE },
        { AT_CLKTCK, clk > 0 ? (uint64_t)clk : 100 },
        { AT_PHDR, img->phdr },
        { AT_PHENT, img->phent },
        { AT_PHNUM, img->phnum },
        { AT_BASE, img->interp_base },
        { AT_FLAGS, 0 },
        { AT_ENTRY, img->prog_entry },
        { AT_UID, getuid() },
        { AT_EUID, geteuid() },
        { AT_GID, getgid() },
        { AT_EGID, getegid() },
        { AT_SECURE, 0 },
        { AT_RANDOM, random },
        { AT_HWCAP2, p->hwcap2 },
        { AT_EXECFN, execfn },
        { AT_PLATFORM, platform },
        { AT_NULL, 0 },
    };
    _Static_assert(G_N_ELEMENTS(pairs) <= LINUX_AUXV_MAX, "auxv fits LINUX_AUXV_MAX");
    size_t skip = vdso ? 0 : 1;   /* a host without a vDSO: none for the guest either */
    memcpy(av, pairs[skip], sizeof(pairs) - skip * sizeof(pairs[0]));
    return (G_N_ELEMENTS(pairs) - skip) * 2;
}

int linux_stack_build(const LinuxElfImage *img, const LinuxStackParams *params, LinuxStack *out)
{
    uint64_t size = GUEST_PAGE_ALIGN(params->stack_size ? params->stack_size : LINUX_STACK_DEFAULT_SIZE);
    const char *execfn = params->execfn ? params->execfn : img->exec_name[0] ? img->exec_name : img->exe_path;
    size_t argc = count_strings(params->argv), envc = count_strings(params->envp);

    /* Everything written on the stack, bounded like execve's quarter of the stack limit. */
    uint64_t need = 8 + strlen(execfn) + 1 + 16 + 16 + sizeof("x86_64") + 8 * (3 + argc + envc + 2 * LINUX_AUXV_MAX);
    for (size_t i = 0; i < argc; i++)
        need += strlen(params->argv[i]) + 1;
    for (size_t i = 0; i < envc; i++)
        need += strlen(params->envp[i]) + 1;
    if (need > size / 4)
        return -E2BIG;

    int prot = PROT_READ | PROT_WRITE | (img->exec_stack ? PROT_EXEC : 0);
    void *map = mmap(NULL, size + LINUX_STACK_GUARD_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (map == MAP_FAILED)
        return -errno;
    uint64_t base = (uintptr_t)map + LINUX_STACK_GUARD_SIZE, top = base + size;
    if (mprotect((void *)(uintptr_t)base, size, prot) != 0) {
        int ret = -errno;
        munmap(map, size + LINUX_STACK_GUARD_SIZE);
        return ret;
    }
    /* The guard stays ember's (unrecorded): the guest can neither map over it nor see it. */
    GuestRegionInfo stack_info = { .kind = GUEST_REGION_STACK, .prot = prot };
    guest_mem_record(base, size, &stack_info);

    LinuxStack st = { .base = base, .top = top };
    uint64_t p = top - 8;                       /* the kernel keeps one NULL word at the very top */
    memset((void *)(uintptr_t)p, 0, 8);
    st.execfn = push_string(&p, execfn);
    st.env_end = p;
    for (size_t i = envc; i-- > 0;)
        push_string(&p, params->envp[i]);
    st.env_start = st.arg_end = p;
    uint64_t *envp_addr = g_new(uint64_t, envc + 1), *argv_addr = g_new(uint64_t, argc + 1);
    /* Addresses are recomputed front to back, so that envp[0] is the lowest string. */
    for (size_t i = 0, at = st.env_start; i < envc; i++) {
        envp_addr[i] = at;
        at += strlen(params->envp[i]) + 1;
    }
    for (size_t i = argc; i-- > 0;)
        push_string(&p, params->argv[i]);
    st.arg_start = p;
    for (size_t i = 0, at = st.arg_start; i < argc; i++) {
        argv_addr[i] = at;
        at += strlen(params->argv[i]) + 1;
    }

    p &= ~15ULL;
    uint64_t platform = push_string(&p, "x86_64");
    p -= 16;
    st.random = p;
    fill_random((uint8_t *)(uintptr_t)p);

    uint64_t av[LINUX_AUXV_MAX * 2];
    size_t av_words = build_auxv(av, img, params, platform, st.random, st.execfn);
    size_t words = 1 + (argc + 1) + (envc + 1) + av_words;
    uint64_t sp = (p - words * 8) & ~15ULL;
    uint64_t *w = (uint64_t *)(uintptr_t)sp;
    *w++ = argc;
    for (size_t i = 0; i < argc; i++)
        *w++ = argv_addr[i];
    *w++ = 0;
    for (size_t i = 0; i < envc; i++)
        *w++ = envp_addr[i];
    *w++ = 0;
    st.auxv = (uintptr_t)w;
    memcpy(w, av, av_words * 8);
    st.sp = sp;
    g_free(envp_addr);
    g_free(argv_addr);

    memcpy(saved_auxv, av, av_words * 8);
    saved_auxv_bytes = av_words * 8;
    saved_stack = st;
    have_stack = true;
    *out = st;
    return 0;
}

int linux_stack_setup(const LinuxElfImage *img, char **argv, char **envp, uint64_t stack_size, uint32_t hwcap,
                      uint64_t *sp, char *err, size_t err_size)
{
    LinuxStackParams params = { .argv = argv, .envp = envp, .stack_size = stack_size, .hwcap = hwcap };
    LinuxStack st;
    int ret = linux_stack_build(img, &params, &st);
    if (ret < 0) {
        if (err && err_size)
            snprintf(err, err_size, "ember-x86_64: cannot set up the stack: %s",
                     ret == -E2BIG ? "arguments and environment too large for the stack" : strerror(-ret));
        return ret;
    }
    *sp = st.sp;
    return 0;
}
