/*
 * The syscall table expanded from table.def, indexed by number; kind metadata from kinds.def.
 */
#include <string.h>
#include <sys/uio.h>

#include "syscalls/syscalls.h"

static const SyscallInfo syscall_table[] = {
#define SYSCALL(nr_, name_, mode_, nargs_, k1, k2, k3, k4, k5, k6) \
    [nr_] = { .name = #name_, .nr = nr_, .mode = SYSCALL_##mode_, .nargs = nargs_, \
              .kind = { SK_##k1, SK_##k2, SK_##k3, SK_##k4, SK_##k5, SK_##k6 } },
#include "syscalls/table.def"
#undef SYSCALL
};

#define TABLE_SIZE ((long)(sizeof syscall_table / sizeof syscall_table[0]))
_Static_assert(sizeof syscall_table / sizeof syscall_table[0] <= SYSCALL_NR_LIMIT, "raise SYSCALL_NR_LIMIT");

static const struct {
    const char *name;
    unsigned flags, size;
} kind_table[SK_COUNT] = {
#define SYSCALL_KIND(name_, flags_, size_) [SK_##name_] = { #name_, flags_, size_ },
#include "syscalls/kinds.def"
#undef SYSCALL_KIND
};

const SyscallInfo *syscall_info(long nr)
{
    if (nr < 0 || nr >= TABLE_SIZE || !syscall_table[nr].name)
        return NULL;
    return &syscall_table[nr];
}

long syscall_lookup(const char *name)
{
    for (long nr = 0; nr < TABLE_SIZE; nr++)
        if (syscall_table[nr].name && strcmp(syscall_table[nr].name, name) == 0)
            return nr;
    return -1;
}

int syscall_count(void)
{
    int n = 0;
    for (long nr = 0; nr < TABLE_SIZE; nr++)
        n += syscall_table[nr].name != NULL;
    return n;
}

const char *syscall_kind_name(SyscallKind kind) { return kind < SK_COUNT ? kind_table[kind].name : "?"; }
unsigned syscall_kind_flags(SyscallKind kind) { return kind < SK_COUNT ? kind_table[kind].flags : 0; }
unsigned syscall_kind_size(SyscallKind kind) { return kind < SK_COUNT ? kind_table[kind].size : 0; }

/* Numbers below the bitmap's reach are remembered exactly; the rare others share the last bit. */
#define UNKNOWN_BITS 4096
static uint64_t unknown_seen[UNKNOWN_BITS / 64];

bool syscall_unknown_first(long nr)
{
    unsigned long bit = nr >= 0 && nr < UNKNOWN_BITS - 1 ? (unsigned long)nr : UNKNOWN_BITS - 1;
    uint64_t mask = 1ULL << (bit % 64);
    return !(__atomic_fetch_or(&unknown_seen[bit / 64], mask, __ATOMIC_RELAXED) & mask);
}

/* Caps the work done for one call: enough for any real iovec use, bounded for a hostile one. */
#define IOV_RANGE_MAX 16

int syscall_pointer_ranges(const SyscallInfo *info, const long args[6], SyscallRange *out, int max)
{
    int n = 0;
    for (int i = 0; i < info->nargs && n < max; i++) {
        SyscallKind kind = info->kind[i];
        unsigned flags = syscall_kind_flags(kind);
        if (!(flags & SKF_PTR) || args[i] == 0)
            continue;
        uint64_t len = syscall_kind_size(kind);
        if ((flags & SKF_LEN) && i + 1 < 6)
            len = (uint64_t)args[i + 1];
        if (kind == SK_IOV_IN || kind == SK_IOV_OUT) {
            /* the array itself, then the buffers it points to (a bad array simply ends the walk) */
            uint64_t count = len > IOV_RANGE_MAX ? IOV_RANGE_MAX : len;
            struct iovec iov[IOV_RANGE_MAX];
            out[n++] = (SyscallRange){ (uint64_t)args[i], count ? count * sizeof(struct iovec) : 1 };
            size_t got = syscall_peek(iov, (uint64_t)args[i], count * sizeof(struct iovec));
            for (size_t k = 0; k < got / sizeof(struct iovec) && n < max; k++)
                if (iov[k].iov_base && iov[k].iov_len)
                    out[n++] = (SyscallRange){ (uint64_t)iov[k].iov_base, iov[k].iov_len };
            continue;
        }
        out[n++] = (SyscallRange){ (uint64_t)args[i], len ? len : 1 };
    }
    return n;
}
