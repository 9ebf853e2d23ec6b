/*
 * Backends by name. The JIT (jit*.c, x86-64 hosts) is part of this library; the reference below is what
 * links it into every binary that can name it.
 */
#include <string.h>

#include "core/tcg/backend.h"

extern const TCGBackend tcg_backend_jit;

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
