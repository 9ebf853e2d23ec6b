/*
 * Backends by name. The JIT lives in its own files and may not be linked into every binary, so it is
 * found through a weak reference: a binary without it simply has no "jit".
 */
#include <string.h>

#include "core/tcg/backend.h"

extern const TCGBackend tcg_backend_jit __attribute__((weak));

const TCGBackend *tcg_backend_find(const char *name)
{
    const TCGBackend *all[] = {&tcg_backend_interp, &tcg_backend_jit};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (all[i] && name && all[i]->name && strcmp(all[i]->name, name) == 0) {
            return all[i];
        }
    }
    return NULL;
}
