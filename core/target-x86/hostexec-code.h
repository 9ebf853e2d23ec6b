/*
 * Executable memory for code generated at run time (host stubs now, the JIT later): a bump allocator over
 * large RWX mappings. Memory is never freed; the cache of stubs keeps what it allocates.
 */
#ifndef EMBER_X86_HOSTEXEC_CODE_H
#define EMBER_X86_HOSTEXEC_CODE_H

#include <stdbool.h>
#include <stddef.h>

/* `size` bytes of executable, writable memory aligned to `align` (a power of two), or NULL. Thread-safe. */
void *hostexec_code_alloc(size_t size, size_t align);
/* Around a host fork: hold the allocator's lock so that the child never inherits it held (x86_fork_lock). */
void hostexec_code_fork_lock(bool lock);

#endif
