/*
 * The console's escape sequences, as QEMU's -nographic console has them: Ctrl-A then a letter. Ctrl-A
 * twice sends one Ctrl-A to the guest. Kept free of I/O so that the state machine is unit-tested.
 */
#include <termios.h>

#include "system/pc/chardev-escape.h"

PcEscapeAction pc_escape_feed(PcEscape *e, uint8_t in, uint8_t *out)
{
    if (!e->pending) {
        if (in == PC_ESCAPE_CHAR) {
            e->pending = true;
            return PC_ESC_NONE;
        }
        *out = in;
        return PC_ESC_BYTE;
    }
    e->pending = false;
    switch (in) {
    case PC_ESCAPE_CHAR:
        *out = PC_ESCAPE_CHAR;
        return PC_ESC_BYTE;
    case 'x':
    case 'X':
        return PC_ESC_QUIT;
    case 'c':
    case 'C':
        return PC_ESC_MONITOR;
    case 'h':
    case 'H':
    case '?':
        return PC_ESC_HELP;
    default:
        return PC_ESC_NONE;
    }
}

const char *pc_escape_help(void)
{
    return "\r\nC-a h    print this help\r\n"
           "C-a x    exit the emulator\r\n"
           "C-a c    switch between the console and the monitor\r\n"
           "C-a C-a  send C-a\r\n";
}

void pc_termios_make_raw(struct termios *t)
{
    t->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t->c_oflag |= OPOST;
    t->c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t->c_cflag |= CS8;
    t->c_cc[VMIN] = 1;
    t->c_cc[VTIME] = 0;
}
