/* The executable-memory allocator: see hostexec-code.h. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "core/target-x86/hostexec-code.h"

#define HOSTEXEC_CHUNK (1u << 20)

static pthread_mutex_t code_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *code_cur, *code_end;

void hostexec_code_fork_lock(bool lock)
{
    (lock ? pthread_mutex_lock : pthread_mutex_unlock)(&code_lock);
}

void *hostexec_code_alloc(size_t size, size_t align)
{
    if (size == 0 || size > HOSTEXEC_CHUNK || (align & (align - 1)) != 0) {
        return NULL;
    }
    void *out = NULL;
    pthread_mutex_lock(&code_lock);
    uintptr_t p = ((uintptr_t)code_cur + align - 1) & ~(uintptr_t)(align - 1);
    if (code_cur == NULL || p + size > (uintptr_t)code_end) {
        /* RWX for now: stubs are written once, before anything can run them. */
        void *m = mmap(NULL, HOSTEXEC_CHUNK, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            goto out;
        }
        code_cur = m;
        code_end = code_cur + HOSTEXEC_CHUNK;
        p = (uintptr_t)code_cur;
    }
    out = (void *)p;
    code_cur = (uint8_t *)(p + size);
out:
    pthread_mutex_unlock(&code_lock);
    return out;
}
