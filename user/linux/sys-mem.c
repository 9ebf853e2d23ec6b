/*
 * The memory syscalls. guest_base is 0, so each one is the host's own call, fenced so that the guest can
 * only ever change ITS mappings (the map in guest-mem.c says which those are) and so that pages holding
 * translated code stay write-protected until written. brk is emulated: the host's brk is ember's heap.
 *
 * One mutex serialises these calls among guest threads, so that the check of a range and the change of it
 * cannot be split by another guest thread's mmap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "user/linux/guest-mem.h"
#include "user/linux/syscall.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/*
 * Held across a change of the guest's mappings and the dropping of code translated from what was there.
 * Dropping it only afterwards would leave a window in which another thread maps something new at the same
 * address (the host hands out a just-freed range first), writes code there and runs the old translation.
 */
static pthread_mutex_t sys_mem_lock = PTHREAD_MUTEX_INITIALIZER;

void linux_sys_mem_fork_lock(bool lock)
{
    (lock ? pthread_mutex_lock : pthread_mutex_unlock)(&sys_mem_lock);
}

/* ---- ranges that are not the guest's ---- */

#define RANGES_MAX 128

typedef struct Ranges {
    uint64_t start[RANGES_MAX], end[RANGES_MAX];
    int n;
    bool overflow;
} Ranges;

static void ranges_add(uint64_t start, uint64_t end, void *opaque)
{
    Ranges *r = opaque;
    if (r->n == RANGES_MAX) {
        r->overflow = true;
        return;
    }
    r->start[r->n] = start;
    r->end[r->n] = end;
    r->n++;
}

static void ranges_unmap(const Ranges *r, int count)
{
    for (int i = 0; i < count; i++)
        munmap((void *)(uintptr_t)r->start[i], r->end[i] - r->start[i]);
}

/*
 * Before a MAP_FIXED (or MREMAP_FIXED) over [start, start+len): every piece that is not the guest's must be
 * free memory, never ember's own. Each such piece is claimed with MAP_FIXED_NOREPLACE, which fails if
 * anything is mapped there; the real mapping then replaces the claim. Linux would silently replace
 * whatever is there; we answer -ENOMEM instead, as if the address space were exhausted, because replacing
 * ember's memory would crash the emulator. On success *claims lists what to release if the call fails.
 * A range with more than RANGES_MAX holes is refused the same way (a guest never needs that).
 */
static int claim_non_guest(uint64_t start, uint64_t len, Ranges *claims)
{
    memset(claims, 0, sizeof(*claims));
    guest_mem_walk(start, len, false, ranges_add, claims);
    if (claims->overflow)
        return -ENOMEM;
    for (int i = 0; i < claims->n; i++) {
        uint64_t size = claims->end[i] - claims->start[i];
        void *p = mmap((void *)(uintptr_t)claims->start[i], size, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p != (void *)(uintptr_t)claims->start[i]) {
            /* Kernels before 4.17 take the flag as a hint and map elsewhere. */
            if (p != MAP_FAILED)
                munmap(p, size);
            ranges_unmap(claims, i);
            return -ENOMEM;
        }
    }
    return 0;
}

/* ---- mmap, munmap, mprotect, mremap, madvise ---- */

static bool range_bad(uint64_t start, uint64_t len)
{
    return len > GUEST_ADDR_LIMIT || start > GUEST_ADDR_LIMIT - len;
}

static void record_mapping(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t offset)
{
    bool shared = (flags & MAP_TYPE) != MAP_PRIVATE;
    if (flags & MAP_ANONYMOUS) {
        /* Shared anonymous memory is a deleted /dev/zero file to the kernel. */
        GuestRegionInfo info = { .kind = shared ? GUEST_REGION_FILE : GUEST_REGION_ANON, .prot = prot,
                                 .shared = shared, .dev = shared ? makedev(0, 1) : 0,
                                 .name = "/dev/zero (deleted)" };
        guest_mem_record(addr, len, &info);
    } else {
        guest_mem_record_fd(addr, len, prot, shared, fd, offset);
    }
}

void *guest_mem_map_anywhere(uint64_t len, int prot, int flags, int fd, uint64_t offset)
{
    uint64_t pick = guest_mem_find_free(len, GUEST_MMAP_LOW, GUEST_MMAP_TOP);
    if (pick) {
        void *p = mmap((void *)(uintptr_t)pick, len, prot, flags | MAP_FIXED_NOREPLACE, fd, (off_t)offset);
        if ((uintptr_t)p == pick)
            return p;
        if (p != MAP_FAILED)
            munmap(p, len);   /* a kernel older than MAP_FIXED_NOREPLACE took it as a hint */
    }
    return mmap(NULL, len, prot, flags, fd, (off_t)offset);
}

long guest_mem_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t offset)
{
    if (len == 0 || (offset & ~GUEST_PAGE_MASK))
        return -EINVAL;
    if (len > GUEST_ADDR_LIMIT)
        return -ENOMEM;
    len = GUEST_PAGE_ALIGN(len);
    bool replace = (flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE);
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && (addr & ~GUEST_PAGE_MASK))
        return -EINVAL;
    if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && range_bad(addr, len))
        return -ENOMEM;

    pthread_mutex_lock(&sys_mem_lock);
    Ranges claims;
    long ret = replace ? claim_non_guest(addr, len, &claims) : 0;
    if (ret == 0) {
        void *p = addr == 0 && !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_32BIT))
                      ? guest_mem_map_anywhere(len, prot, flags, fd, offset)
                      : mmap((void *)(uintptr_t)addr, len, prot, flags, fd, (off_t)offset);
        if (p == MAP_FAILED) {
            ret = -errno;
            if (replace)
                ranges_unmap(&claims, claims.n);
        } else {
            ret = (long)(uintptr_t)p;
            record_mapping((uintptr_t)p, len, prot, flags, fd, offset);
        }
    }
    /* Code translated from what was there before is stale; dropping it also gives the pages the new
       mapping's rights. */
    if (ret >= 0 && replace)
        guest_mem_invalidate_range(addr, len);
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
}

static void unmap_piece(uint64_t start, uint64_t end, void *opaque)
{
    ranges_add(start, end, opaque);
}

long guest_mem_munmap(uint64_t addr, uint64_t len)
{
    if ((addr & ~GUEST_PAGE_MASK) || len == 0 || range_bad(addr, len))
        return -EINVAL;
    len = GUEST_PAGE_ALIGN(len);
    pthread_mutex_lock(&sys_mem_lock);
    /* Only the guest's pieces: the rest of the range is ember's memory or nothing, and unmapping nothing
       succeeds on Linux too. */
    Ranges pieces = { .n = 0 };
    long ret = 0;
    do {
        pieces.n = 0;
        pieces.overflow = false;
        guest_mem_walk(addr, len, true, unmap_piece, &pieces);
        for (int i = 0; i < pieces.n && ret == 0; i++) {
            if (munmap((void *)(uintptr_t)pieces.start[i], pieces.end[i] - pieces.start[i]) != 0)
                ret = -errno;
            else
                guest_mem_forget(pieces.start[i], pieces.end[i] - pieces.start[i]);
        }
    } while (pieces.overflow && ret == 0);
    /* Before another thread may map something new here (see sys_mem_lock). */
    guest_mem_invalidate_range(addr, len);
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
}

long guest_mem_mprotect(uint64_t addr, uint64_t len, int prot)
{
    if (addr & ~GUEST_PAGE_MASK)
        return -EINVAL;
    if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    if (len == 0)
        return 0;
    if (range_bad(addr, len))
        return -ENOMEM;
    /* GROWSDOWN/GROWSUP extend the change to the whole stack VMA on Linux; we change exactly the range. */
    prot &= PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM;
    pthread_mutex_lock(&sys_mem_lock);
    long ret = guest_mem_is_guest(addr, len) ? guest_mem_protect_range(addr, len, prot) : -ENOMEM;
    /* Code the guest may no longer execute is dropped, so that jumping there faults as it should. */
    if (ret == 0 && !(prot & PROT_EXEC))
        guest_mem_invalidate_range(addr, len);
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
}

long guest_mem_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr)
{
    if ((old_addr & ~GUEST_PAGE_MASK) || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)))
        return -EINVAL;
    if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(flags & MREMAP_MAYMOVE))
        return -EINVAL;
    if (new_len == 0 || range_bad(old_addr, old_len) || new_len > GUEST_ADDR_LIMIT)
        return -EINVAL;
    old_len = GUEST_PAGE_ALIGN(old_len);
    new_len = GUEST_PAGE_ALIGN(new_len);
    if ((flags & MREMAP_FIXED) && ((new_addr & ~GUEST_PAGE_MASK) || range_bad(new_addr, new_len)))
        return -EINVAL;

    pthread_mutex_lock(&sys_mem_lock);
    long ret = 0;
    Ranges claims = { .n = 0 };
    /* old_len 0 duplicates a shared mapping: its first page must still be the guest's. */
    if (!guest_mem_is_guest(old_addr, old_len ? old_len : GUEST_PAGE_SIZE))
        ret = -EFAULT;
    else if (flags & MREMAP_FIXED)
        ret = claim_non_guest(new_addr, new_len, &claims);
    if (ret == 0) {
        void *p = mremap((void *)(uintptr_t)old_addr, old_len, new_len, flags, (void *)(uintptr_t)new_addr);
        if (p == MAP_FAILED) {
            ret = -errno;
            ranges_unmap(&claims, claims.n);
        } else {
            ret = (long)(uintptr_t)p;
            guest_mem_move(old_addr, old_len ? old_len : GUEST_PAGE_SIZE, (uintptr_t)p, new_len,
                           old_len == 0 || (flags & MREMAP_DONTUNMAP));
        }
    }
    if (ret >= 0) {
        /* The old pages moved away or were cut off (DONTUNMAP leaves them empty); what is now at the new
           place is no longer what was translated there. */
        if ((uint64_t)ret != old_addr || new_len < old_len)
            guest_mem_invalidate_range(old_addr, old_len);
        if (flags & MREMAP_FIXED)
            guest_mem_invalidate_range(new_addr, new_len);
    }
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
}

long guest_mem_madvise(uint64_t addr, uint64_t len, int advice)
{
    if (addr & ~GUEST_PAGE_MASK)
        return -EINVAL;
    if (len == 0)
        return 0;
    if (range_bad(addr, len))
        return -EINVAL;
    len = GUEST_PAGE_ALIGN(len);
    pthread_mutex_lock(&sys_mem_lock);
    long ret = 0;
    /* Advice such as MADV_DONTNEED would wipe ember's own memory: only the guest's ranges. */
    if (!guest_mem_is_guest(addr, len))
        ret = -ENOMEM;
    else if (madvise((void *)(uintptr_t)addr, len, advice) != 0)
        ret = -errno;
    /* These make the pages read back as zeros (or the file's contents): translated code is stale. */
    else if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE)
        guest_mem_invalidate_range(addr, len);
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
}

/* ---- brk ---- */

static uint64_t brk_start, brk_cur, brk_mapped;

void guest_mem_brk_init(uint64_t start)
{
    pthread_mutex_lock(&sys_mem_lock);
    brk_start = brk_cur = brk_mapped = GUEST_PAGE_ALIGN(start);
    pthread_mutex_unlock(&sys_mem_lock);
}

/* Like Linux: the new break on success, the unchanged one when it cannot move there. */
uint64_t guest_mem_brk(uint64_t new_brk)
{
    pthread_mutex_lock(&sys_mem_lock);
    uint64_t ret = brk_cur;
    if (new_brk < brk_start || new_brk > GUEST_ADDR_LIMIT)
        goto out;
    uint64_t new_end = GUEST_PAGE_ALIGN(new_brk);
    if (new_end > brk_mapped) {
        /* Grow only into free memory: NOREPLACE keeps the heap off everything else. */
        void *want = (void *)(uintptr_t)brk_mapped;
        void *p = mmap(want, new_end - brk_mapped, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p != want) {
            if (p != MAP_FAILED)
                munmap(p, new_end - brk_mapped);
            goto out;
        }
        GuestRegionInfo heap = { .kind = GUEST_REGION_HEAP, .prot = PROT_READ | PROT_WRITE };
        guest_mem_record(brk_mapped, new_end - brk_mapped, &heap);
    } else if (new_end < brk_mapped) {
        munmap((void *)(uintptr_t)new_end, brk_mapped - new_end);
        guest_mem_forget(new_end, brk_mapped - new_end);
    }
    if (new_end < brk_mapped)
        guest_mem_invalidate_range(new_end, brk_mapped - new_end);
    brk_mapped = new_end;
    brk_cur = ret = new_brk;
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
out:
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
}

/* ---- System V shared memory ---- */

long guest_mem_shmat(int shmid, uint64_t addr, int flags)
{
    struct shmid_ds ds;
    if (shmctl(shmid, IPC_STAT, &ds) != 0)
        return -errno;
    uint64_t len = GUEST_PAGE_ALIGN(ds.shm_segsz);
    if (addr && (flags & SHM_RND))
        addr &= GUEST_PAGE_MASK;   /* SHMLBA is the page size on x86-64 */
    /* SHM_REMAP replaces what is there, like MAP_FIXED; without it the host refuses any overlap. */
    bool remap = addr && (flags & SHM_REMAP);
    pthread_mutex_lock(&sys_mem_lock);
    Ranges claims;
    long ret = remap ? claim_non_guest(addr, len, &claims) : 0;
    if (ret == 0) {
        void *p = shmat(shmid, (void *)(uintptr_t)addr, flags);
        if (p == (void *)-1) {
            ret = -errno;
            if (remap)
                ranges_unmap(&claims, claims.n);
        } else {
            ret = (long)(uintptr_t)p;
            /* As the kernel shows it: the segment's key in a deleted file of the shm mount, inode = id. */
            char name[40];
            snprintf(name, sizeof(name), "/SYSV%08x (deleted)", (unsigned)ds.shm_perm.__key);
            GuestRegionInfo info = {
                .kind = GUEST_REGION_FILE,
                .prot = PROT_READ | (flags & SHM_RDONLY ? 0 : PROT_WRITE) | (flags & SHM_EXEC ? PROT_EXEC : 0),
                .shared = true,
                .dev = makedev(0, 1),
                .ino = (uint64_t)shmid,
                .name = name,
            };
            guest_mem_record((uintptr_t)p, len, &info);
        }
    }
    if (ret >= 0 && remap)
        guest_mem_invalidate_range(addr, len);
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
}

long guest_mem_shmdt(uint64_t addr)
{
    pthread_mutex_lock(&sys_mem_lock);
    /* The segment's extent: the record at addr and the ones that continue it (mprotect may split it). */
    char name[64], next_name[64];
    GuestRegionInfo info, next;
    uint64_t start = 0, end = 0, next_end;
    bool found = guest_mem_lookup(addr, &start, &end, &info, name, sizeof(name)) && start == addr &&
                 info.kind == GUEST_REGION_FILE && strncmp(name, "/SYSV", 5) == 0;
    while (found && guest_mem_lookup(end, NULL, &next_end, &next, next_name, sizeof(next_name)) &&
           strcmp(next_name, name) == 0 && next.ino == info.ino && next.offset == info.offset + (end - addr))
        end = next_end;
    long ret = shmdt((void *)(uintptr_t)addr) == 0 ? 0 : -errno;
    if (ret == 0 && found) {
        guest_mem_forget(addr, end - addr);
        guest_mem_invalidate_range(addr, end - addr);
    }
    pthread_mutex_unlock(&sys_mem_lock);
    return ret;
}

/* ---- the syscall handlers ---- */

static long sys_mmap(CPUX86State *env, const long a[6])
{
    (void)env;
    return guest_mem_mmap((uint64_t)a[0], (uint64_t)a[1], (int)a[2], (int)a[3], (int)a[4], (uint64_t)a[5]);
}

static long sys_munmap(CPUX86State *env, const long a[6])
{
    (void)env;
    return guest_mem_munmap((uint64_t)a[0], (uint64_t)a[1]);
}

static long sys_mprotect(CPUX86State *env, const long a[6])
{
    (void)env;
    return guest_mem_mprotect((uint64_t)a[0], (uint64_t)a[1], (int)a[2]);
}

static long sys_mremap(CPUX86State *env, const long a[6])
{
    (void)env;
    return guest_mem_mremap((uint64_t)a[0], (uint64_t)a[1], (uint64_t)a[2], (int)a[3], (uint64_t)a[4]);
}

static long sys_madvise(CPUX86State *env, const long a[6])
{
    (void)env;
    return guest_mem_madvise((uint64_t)a[0], (uint64_t)a[1], (int)a[2]);
}

static long sys_shmat(CPUX86State *env, const long a[6])
{
    (void)env;
    return guest_mem_shmat((int)a[0], (uint64_t)a[1], (int)a[2]);
}

static long sys_shmdt(CPUX86State *env, const long a[6])
{
    (void)env;
    return guest_mem_shmdt((uint64_t)a[0]);
}

static long sys_brk(CPUX86State *env, const long a[6])
{
    (void)env;
    return (long)guest_mem_brk((uint64_t)a[0]);
}

void linux_sys_mem_register(void)
{
    linux_syscall_register(SYS_mmap, sys_mmap);
    linux_syscall_register(SYS_munmap, sys_munmap);
    linux_syscall_register(SYS_mprotect, sys_mprotect);
    linux_syscall_register(SYS_mremap, sys_mremap);
    linux_syscall_register(SYS_madvise, sys_madvise);
    linux_syscall_register(SYS_brk, sys_brk);
    linux_syscall_register(SYS_shmat, sys_shmat);
    linux_syscall_register(SYS_shmdt, sys_shmdt);
    guest_mem_install_hooks();
}
