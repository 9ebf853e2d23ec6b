/* The accelerators this build has, by name (-accel). */
#include <string.h>

#include "system/pc/accel.h"

const AccelOps *accel_find(const char *name)
{
    static const AccelOps *const all[] = { &accel_tcg_ops, &accel_kvm_ops };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcmp(all[i]->name, name) == 0) {
            return all[i];
        }
    }
    return NULL;
}
