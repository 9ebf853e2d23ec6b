/* CHECK(cond): the guest programs' assertion. A failure prints the line, the condition and errno, and
   exits 1, so the native and emulated runs differ visibly. */
#ifndef EMBER_GUEST_CHECK_H
#define EMBER_GUEST_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            printf("FAILED line %d: %s (errno %d %s)\n", __LINE__, #cond, errno,      \
                   strerror(errno));                                                  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#endif
