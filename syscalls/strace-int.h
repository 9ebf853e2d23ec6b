/*
 * Shared by the -strace printer's files (strace.c: lines, numbers, strings and buffers;
 * strace-flags.c: flag and enum names; strace-struct.c: structures). Not part of the interface.
 */
#ifndef EMBER_SYSCALLS_STRACE_INT_H
#define EMBER_SYSCALLS_STRACE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "syscalls/strace.h"

/* Strings and buffers print at most this many bytes, then "..." (strace's default -s 32). */
#define STRACE_STRING_MAX 32
/* Paths print whole, like strace, up to this. */
#define STRACE_PATH_MAX 256

/* A bounded output buffer: appends past the end are dropped, the text stays NUL-terminated. */
typedef struct StraceBuf {
    char *p;
    size_t len, cap;
} StraceBuf;

void strace_printf(StraceBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strace_puts(StraceBuf *b, const char *s);

/* "0x..." or NULL. */
void strace_put_ptr(StraceBuf *b, uint64_t addr);
/* A quoted, escaped string read from guest memory: NUL-terminated (len = max bytes to look at) or a
   buffer of exactly len bytes; more than `max` bytes print as "..."... An unreadable address prints as a
   pointer. */
void strace_put_cstring(StraceBuf *b, uint64_t addr, size_t max);
void strace_put_bytes(StraceBuf *b, uint64_t addr, size_t len, size_t max);
void strace_put_hex_bytes(StraceBuf *b, uint64_t addr, size_t len, size_t max);

/* One name of a flag set or an enumeration; tables end with a NULL name. */
typedef struct StraceName {
    uint64_t value;
    const char *name;
} StraceName;

/* A|B|0x40: every named bit set, then the remaining bits in hex; `zero` when v is 0. */
void strace_put_flags(StraceBuf *b, uint64_t v, const StraceName *names, const char *zero);
/* The name of v, or v in decimal. */
void strace_put_enum(StraceBuf *b, uint64_t v, const StraceName *names);
void strace_put_signal(StraceBuf *b, int sig);
/* [INT TERM], or ~[...] of the missing signals when more than half are set. */
void strace_put_sigset(StraceBuf *b, uint64_t set);
void strace_put_mode(StraceBuf *b, uint64_t mode, bool with_type);
void strace_put_sockaddr(StraceBuf *b, uint64_t addr, uint64_t len);

/* Formats argument i of the call (kind call->kind[i]); ret is the result for SKF_OUT kinds. A formatter
   may rewrite the kinds of later arguments or lower call->shown (fcntl's F_GETFD takes no argument). */
typedef void (*StraceFormatter)(StraceBuf *b, StraceCall *call, int i, long ret);

/* The formatters of the kinds each file knows; NULL where it has none. */
StraceFormatter strace_flag_formatter(SyscallKind kind);
StraceFormatter strace_struct_formatter(SyscallKind kind);

#endif
