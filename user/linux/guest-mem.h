/*
 * The guest's address space. guest_base is 0, so guest mappings are real host mappings living next to
 * ember's own (its binary, heap, libraries, thread stacks). This map is the record of which ranges belong
 * to the GUEST: it decides what the guest may munmap/mprotect/madvise, what /proc/self/maps shows, and
 * which rights a page gets back once its translated code is invalidated (self-modifying code).
 *
 * Lock order: the translation-block cache lock, then the map's lock. Nothing here calls tb_* with the map
 * locked.
 */
#ifndef EMBER_LINUX_GUEST_MEM_H
#define EMBER_LINUX_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tcg/tb.h"

#define GUEST_PAGE_SIZE 4096ULL
#define GUEST_PAGE_MASK (~(GUEST_PAGE_SIZE - 1))
#define GUEST_PAGE_ALIGN(x) (((x) + GUEST_PAGE_SIZE - 1) & GUEST_PAGE_MASK)
/* The top of the x86-64 user address space (47 bits). */
#define GUEST_ADDR_LIMIT 0x800000000000ULL

/* What a region shows in /proc/self/maps besides its range and rights. */
typedef enum GuestRegionKind {
    GUEST_REGION_ANON,     /* no name */
    GUEST_REGION_FILE,     /* a file: name, offset, device, inode */
    GUEST_REGION_HEAP,     /* [heap] (the emulated brk) */
    GUEST_REGION_STACK,    /* [stack] (the main thread's) */
} GuestRegionKind;

typedef struct GuestRegionInfo {
    GuestRegionKind kind;
    int prot;              /* PROT_* the guest asked for (not what the host page has now) */
    bool shared;           /* MAP_SHARED */
    uint64_t offset;       /* file offset of the region's start */
    uint64_t dev, ino;     /* the file's st_dev / st_ino */
    const char *name;      /* file path (copied) */
} GuestRegionInfo;

/*
 * Where the guest's mappings without an address go (mmap(NULL), the ELF interpreter): top-down from
 * GUEST_MMAP_TOP like the kernel's without address randomization, so that a program's libraries land at
 * the same addresses run after run (and their translations can be kept: tb-cache.c). Ember's own mappings
 * are the host kernel's, at most ~1 TB below the top of the address space, above this range.
 */
#define GUEST_MMAP_TOP 0x7e0000000000ULL
#define GUEST_MMAP_LOW 0x200000000000ULL
/* The highest start at which len bytes fit between low and high without touching a guest mapping; 0 when
   there is no such room. Ember's own mappings are not recorded: guest_mem_map_anywhere checks for them. */
uint64_t guest_mem_find_free(uint64_t len, uint64_t low, uint64_t high);
/* mmap(NULL, ...) for the guest (sys-mem.c): in that area, or where the kernel puts it if one of ember's own
   mappings is in the way (flags without MAP_FIXED). Not recorded: the caller records what it maps. */
void *guest_mem_map_anywhere(uint64_t len, int prot, int flags, int fd, uint64_t offset);

/* Record [start, start+len) as the guest's, replacing whatever was recorded there. */
void guest_mem_record(uint64_t start, uint64_t len, const GuestRegionInfo *info);
/* Record a mapping of fd (name from /proc/self/fd, device and inode from fstat). */
void guest_mem_record_fd(uint64_t start, uint64_t len, int prot, bool shared, int fd, uint64_t offset);
/* Forget [start, start+len). */
void guest_mem_forget(uint64_t start, uint64_t len);
/* Change the recorded rights of [start, start+len) (splitting regions as needed). */
void guest_mem_set_prot(uint64_t start, uint64_t len, int prot);
/* Move the records of [old, old+old_len) to new_addr, cut or extended to new_len (mremap); keep_old leaves
   the old records in place (MREMAP_DONTUNMAP). */
void guest_mem_move(uint64_t old_addr, uint64_t old_len, uint64_t new_addr, uint64_t new_len, bool keep_old);

/* Is every page of [start, start+len) recorded as the guest's? */
bool guest_mem_is_guest(uint64_t start, uint64_t len);
/* Does any page of [start, start+len) belong to the guest? */
bool guest_mem_any_guest(uint64_t start, uint64_t len);
/* The guest's rights at addr, or -1 when it is not a guest page. */
int guest_mem_prot_at(uint64_t addr);
/* The region containing addr (name copied into name_buf when given). False when none. */
bool guest_mem_lookup(uint64_t addr, uint64_t *start, uint64_t *end, GuestRegionInfo *info, char *name_buf,
                      size_t name_size);
/*
 * Call fn for each maximal piece of [start, start+len) that is the guest's (guest = true) or that is not
 * (guest = false), in address order. fn runs with the map locked: it must not call guest_mem_*.
 */
void guest_mem_walk(uint64_t start, uint64_t len, bool guest, void (*fn)(uint64_t start, uint64_t end, void *opaque),
                    void *opaque);
/* Drop every record (tests). */
void guest_mem_reset(void);

/* /proc/self/maps for the guest, in the kernel's format. g_free the result. */
char *guest_mem_format_maps(size_t *len);

/*
 * Self-modifying code (code-pages.c). The core's hooks: protect(page, true) removes PROT_WRITE from the host
 * page while it holds translated code, and from the other views of the same file page where a shared
 * mapping is mapped more than once (aliases); protect(page, false) gives them back the guest's rights.
 */
const TBPageHooks *guest_mem_page_hooks(void);
/* Installs guest_mem_page_hooks() in the block cache. */
void guest_mem_install_hooks(void);
/* Around a host fork (sys-thread.c): the region table's lock. */
void guest_mem_fork_lock(bool lock);
/* Is this page write-protected for translated code right now? */
bool guest_mem_page_is_code(uint64_t page);
/* If the page is write-protected because it shows the same file page as code elsewhere (a writable view
   of an executable memfd), drop that code, which gives the page its rights back: true. */
bool guest_mem_release_alias(uint64_t page);
/* The code pages (write-protected) within [start, start+len), at most max of them; returns the count. */
size_t guest_mem_code_pages(uint64_t start, uint64_t len, uint64_t *pages, size_t max);
/* Invalidate the translated code of every code page in [start, start+len), and of every code page an alias
   there shows (call with no lock held). */
void guest_mem_invalidate_range(uint64_t start, uint64_t len);
/*
 * mprotect the host pages of [start, start+len) to prot, except that code pages and aliases keep
 * PROT_WRITE off, and record prot as the guest's rights. 0 or -errno (from the host).
 */
long guest_mem_protect_range(uint64_t start, uint64_t len, int prot);

/*
 * For the SIGSEGV handler: true if addr is on a guest page the guest may write but that is write-protected
 * because it holds translated code or is an alias of a page that does. That code is then invalidated, the
 * page's rights restored, and the faulting write can simply be retried.
 */
bool guest_mem_handle_write_fault(uint64_t addr);
/*
 * Before a syscall makes the host kernel write into guest memory (read(2) into a buffer that shares a page
 * with code): make [addr, addr+len) writable again by invalidating its code pages.
 */
void guest_mem_prepare_write(uint64_t addr, uint64_t len);

/* The emulated brk (sys-mem.c). start: the page-aligned end of the program's highest segment. */
void guest_mem_brk_init(uint64_t start);
uint64_t guest_mem_brk(uint64_t new_brk);

/*
 * The memory syscalls with Linux's semantics for the guest (sys-mem.c). Each returns the result or -errno.
 * A MAP_FIXED over memory that is mapped but not the guest's (ember's own) fails with -ENOMEM instead of
 * replacing it.
 */
long guest_mem_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t offset);
long guest_mem_munmap(uint64_t addr, uint64_t len);
long guest_mem_mprotect(uint64_t addr, uint64_t len, int prot);
long guest_mem_mremap(uint64_t old_addr, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr);
long guest_mem_madvise(uint64_t addr, uint64_t len, int advice);
long guest_mem_shmat(int shmid, uint64_t addr, int flags);
long guest_mem_shmdt(uint64_t addr);

/* Register the memory syscalls (mmap, munmap, mprotect, mremap, brk, madvise, shmat, shmdt) and install
   the page hooks. */
void linux_sys_mem_register(void);

#endif
