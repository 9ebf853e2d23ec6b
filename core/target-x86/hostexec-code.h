/*
 * Executable memory for code generated at run time (host stubs now, the JIT later): a bump allocator over
 * large RWX mappings. Memory is never freed; the cache of stubs keeps what it allocates.
 */
#ifndef EMBER_X86_HOSTEXEC_CODE_H
#define EMBER_X86_HOSTEXEC_CODE_H

#include <stddef.h>

/* `size` bytes of executable, writable memory aligned to `align` (a power of two), or NULL. Thread-safe. */
void *hostexec_code_alloc(size_t size, size_t align);

#endif
