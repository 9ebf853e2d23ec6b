/* Running programs: what execve and the command line share. */
#ifndef EMBER_LINUX_EXEC_H
#define EMBER_LINUX_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#define LINUX_SHEBANG_MAX 256

/*
 * Split a "#!interpreter [arg]" first line the way the kernel does: one optional argument, the rest of the
 * line. head holds the file's first n bytes and is modified; false when it is not a #! script.
 */
bool linux_shebang_parse(char *head, ssize_t n, char **interp, char **arg);

#endif
