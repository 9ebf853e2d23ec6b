/*
 * Where a character device model (the UARTs) sends its output: the front end's stdio, file or socket
 * backend. Called with the machine lock held, from whichever thread did the guest's port write; the
 * backend must not block for long (buffer if the sink is slow) and must not take the machine lock.
 */
#ifndef EMBER_PC_CHARDEV_OUT_H
#define EMBER_PC_CHARDEV_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct CharOut {
    void (*write)(void *opaque, const uint8_t *buf, size_t len);   /* NULL: output is dropped */
    void *opaque;
} CharOut;

static inline void char_out_write(const CharOut *out, const uint8_t *buf, size_t len)
{
    if (out->write) {
        out->write(out->opaque, buf, len);
    }
}

#endif
