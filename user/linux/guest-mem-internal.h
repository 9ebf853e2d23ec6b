/*
 * Between the guest's map (guest-mem.c) and its self-modifying-code state (code-pages.c): the region records
 * and the lock that guards both. Not for use elsewhere: guest-mem.h is the interface.
 */
#ifndef EMBER_LINUX_GUEST_MEM_INTERNAL_H
#define EMBER_LINUX_GUEST_MEM_INTERNAL_H

#include <glib.h>

#include "user/linux/guest-mem.h"

typedef struct GuestRegion {
    uint64_t start, end;
    GuestRegionKind kind;
    int prot;
    bool shared;
    /* Private memory that has ever been writable is charged to the process (the kernel's VM_ACCOUNT) and
       keeps the charge after losing the write right, which keeps it from merging with never-written
       neighbours: RELRO shows as a VMA of its own. */
    bool accounted;
    uint64_t offset, dev, ino;
    char *name;
} GuestRegion;

/* The map's lock (the first call also makes the map and code-pages.c's sets). */
void guest_mem_lock(void);
void guest_mem_unlock(void);

/* With the lock held: the regions, sorted by start and never overlapping; the index of the first one whose
   end is above addr (the count when none); the one holding addr (NULL when none). */
guint guest_region_count(void);
GuestRegion *guest_region_at(guint i);
guint guest_region_search(uint64_t addr);
GuestRegion *guest_region_find(uint64_t addr);

/* code-pages.c, with the lock held: make its sets, empty them, and bring the aliases in [start, end) up to
   date after the mappings there changed (mapped, unmapped, moved). */
void code_pages_init(void);
void code_pages_reset(void);
void code_aliases_refresh(uint64_t start, uint64_t end);

#endif
