/*
 * Page faults a child would take, taken by the spare instead, before its run starts.
 *
 * A fork server's child starts with none of the server's file-backed page table entries (fork leaves them
 * to be faulted in again: the emulator's and libc's code, the guest's read-only data) and with every
 * private page shared copy-on-write (the first write to each copies it: the guest's stack and data, the
 * emulator's CPU state and heap). That is some fifty faults a run, on the run's critical path. The spare
 * child waits idle for its run anyway: it touches those pages while it waits.
 *
 * Which pages: learned from children. After reporting its exit status (so off the run's time), every 16th
 * child reads its own page map and lists the pages it made present (file-backed pages of read-only
 * mappings, exclusively owned pages of private writable ones) into memory shared with the server. The
 * spare reads the pages it may touch (mapped readable) and writes the same byte back into those that were
 * written (mapped private and writable), checked against the server's mappings as they were at the fork,
 * so a page a child mapped itself is never touched.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "user/linux/afl/afl.h"

#define PF_MAX 2048          /* learned pages */
#define PF_VMAS 512          /* the server's mappings */
#define PF_LEARN_EVERY 16
#define PF_LEARN_FIRST 2     /* not the first child: it ran cold, translating (its pages are no guide) */
#define PF_WINDOW (64 * 1024)   /* a read fault maps the cached pages around it (fault-around): one a window */
#define PF_VMA_SCAN_MAX (64ULL << 20)   /* larger mappings (reservations) are not scanned */

typedef struct AflPrefaultList {
    uint32_t count;
    int32_t busy;            /* a child is adding to the list */
    uint64_t page[PF_MAX];   /* page address | 1 when written */
} AflPrefaultList;

typedef struct AflVma {
    uint64_t start, end;
    bool readable, private_writable, shared;
} AflVma;

static AflPrefaultList *pf_list;   /* shared by the server and its children */
static AflVma pf_vmas[PF_VMAS];    /* the server's mappings, inherited by each child at its fork */
static int pf_nvmas;

/* The server's mappings, as a child will inherit them: the server calls this before forking, and again
   whenever it may have mapped or unmapped memory (after translating). */
void afl_prefault_snapshot(void)
{
    if (!pf_list) {
        pf_list = mmap(NULL, sizeof(*pf_list), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (pf_list == MAP_FAILED) {
            pf_list = NULL;
            return;
        }
    }
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f) {
        return;
    }
    char line[512];
    pf_nvmas = 0;
    while (pf_nvmas < PF_VMAS && fgets(line, sizeof(line), f)) {
        unsigned long long a, b;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s", &a, &b, perms) != 3) {
            continue;
        }
        pf_vmas[pf_nvmas++] = (AflVma){a, b, perms[0] == 'r', perms[1] == 'w' && perms[3] == 'p', perms[3] == 's'};
    }
    fclose(f);
}

static const AflVma *vma_at(uint64_t addr)
{
    int lo = 0, hi = pf_nvmas - 1;   /* /proc/self/maps is sorted */
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (addr < pf_vmas[mid].start) {
            hi = mid - 1;
        } else if (addr >= pf_vmas[mid].end) {
            lo = mid + 1;
        } else {
            return &pf_vmas[mid];
        }
    }
    return NULL;
}

/* In the spare, before it waits: take the learned faults now. */
void afl_prefault_touch(void)
{
    if (!pf_list) {
        return;
    }
    uint32_t n = __atomic_load_n(&pf_list->count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < PF_MAX; i++) {
        uint64_t e = pf_list->page[i], page = e & ~4095ULL;
        const AflVma *v = vma_at(page);
        if (!v || !v->readable) {
            continue;
        }
        volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)page;
        if ((e & 1) && v->private_writable) {
            __atomic_fetch_or((uint8_t *)(uintptr_t)page, 0, __ATOMIC_RELAXED);   /* the copy, same bytes */
        } else {
            (void)*p;
        }
    }
}

static void list_add(uint64_t entry)
{
    uint32_t n = pf_list->count;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t e = pf_list->page[i];
        if ((e | 1) == (entry | 1) ||
            (!(e & 1) && !(entry & 1) && e / PF_WINDOW == entry / PF_WINDOW)) {   /* the same window */
            pf_list->page[i] |= entry & 1;
            return;
        }
    }
    if (n < PF_MAX) {
        pf_list->page[n] = entry;
        __atomic_store_n(&pf_list->count, n + 1, __ATOMIC_RELEASE);
    }
}

bool afl_prefault_learner(uint32_t child_index)
{
    return child_index % PF_LEARN_EVERY == PF_LEARN_FIRST;
}

/*
 * A learning child, once the spare's own touches are done: from here on the kernel marks the pages it
 * writes (soft-dirty), which its exit reads back. False when the kernel does not track them.
 */
static bool pf_soft_dirty;
static volatile uint64_t pf_probe;

void afl_prefault_mark(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    bool cleared = fd >= 0 && write(fd, "4", 1) == 1;
    if (fd >= 0) {
        close(fd);
    }
    /* Does the kernel track them (CONFIG_MEM_SOFT_DIRTY)? A page written now must say so. */
    pf_probe++;
    uint64_t entry = 0;
    fd = cleared ? open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        if (pread(fd, &entry, 8, (off_t)((uintptr_t)&pf_probe / 4096 * 8)) != 8) {
            entry = 0;
        }
        close(fd);
    }
    pf_soft_dirty = entry >> 55 & 1;
}

/*
 * In a learning child at its exit, after its status is out: add the pages it faulted in. pagemap: bit 63
 * present, bit 55 soft-dirty (written since afl_prefault_mark), bit 56 mapped exclusively (the fallback).
 * Read-only pages: one per fault-around window.
 */
void afl_prefault_learn(uint32_t child_index)
{
    if (!pf_list || !afl_prefault_learner(child_index) ||
        __atomic_exchange_n(&pf_list->busy, 1, __ATOMIC_ACQUIRE)) {
        return;
    }
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    for (int i = 0; fd >= 0 && i < pf_nvmas; i++) {
        const AflVma *v = &pf_vmas[i];
        if (!v->readable || v->shared || v->end - v->start > PF_VMA_SCAN_MAX) {
            continue;
        }
        uint64_t buf[512];
        for (uint64_t a = v->start; a < v->end; a += sizeof(buf) / 8 * 4096) {
            size_t pages = (size_t)((v->end - a) / 4096);
            pages = pages < 512 ? pages : 512;
            ssize_t got = pread(fd, buf, pages * 8, (off_t)(a / 4096 * 8));
            for (ssize_t k = 0; k < got / 8; k++) {
                bool present = buf[k] >> 63 & 1, dirty = buf[k] >> 55 & 1, exclusive = buf[k] >> 56 & 1;
                if (!present) {
                    continue;
                }
                uint64_t page = a + (uint64_t)k * 4096;
                if (v->private_writable) {
                    if (pf_soft_dirty ? dirty : exclusive) {
                        list_add(page | 1);
                    }
                } else {
                    list_add(page);   /* read-only: fork copied no entry, so the child faulted it */
                }
            }
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    __atomic_store_n(&pf_list->busy, 0, __ATOMIC_RELEASE);
    if (afl.debug) {
        uint32_t w = 0;
        for (uint32_t i = 0; i < pf_list->count; i++) {
            w += pf_list->page[i] & 1;
        }
        fprintf(stderr, "ember-x86_64: AFL: child %u: %u pages to fault in ahead, %u of them written\n", child_index,
                pf_list->count, w);
    }
}
