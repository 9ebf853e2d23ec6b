/*
 * The console's escape handling and raw-mode settings: pure functions, kept apart from the I/O so that
 * they are unit-tested (chardev-escape.c).
 */
#ifndef EMBER_PC_CHARDEV_ESCAPE_H
#define EMBER_PC_CHARDEV_ESCAPE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum PcEscapeAction {
    PC_ESC_NONE,             /* swallowed (the Ctrl-A itself, or an unknown escape) */
    PC_ESC_BYTE,             /* deliver *out to whoever has the console */
    PC_ESC_QUIT,             /* Ctrl-A x */
    PC_ESC_MONITOR,          /* Ctrl-A c: switch between the serial port and the monitor */
    PC_ESC_HELP,             /* Ctrl-A h */
} PcEscapeAction;

#define PC_ESCAPE_CHAR 0x01  /* Ctrl-A */

typedef struct PcEscape {
    bool pending;            /* the last byte was Ctrl-A */
} PcEscape;

PcEscapeAction pc_escape_feed(PcEscape *e, uint8_t in, uint8_t *out);
const char *pc_escape_help(void);

/* The termios changes of raw mode (pure, so tests check them): input unprocessed, no echo, no signals
   from keys (Ctrl-C goes to the guest), output still translating \n. */
struct termios;
void pc_termios_make_raw(struct termios *t);

#endif
