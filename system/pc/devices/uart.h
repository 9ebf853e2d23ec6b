/*
 * A 16550A UART (COM1 at 0x3F8 / IRQ 4, COM2 at 0x2F8 / IRQ 3). Transmitted bytes go straight to a
 * CharOut (there is no line speed to wait for); received bytes come from the front end through
 * uart_receive(), which it calls with the machine lock held.
 */
#ifndef EMBER_PC_DEVICES_UART_H
#define EMBER_PC_DEVICES_UART_H

#include <stddef.h>
#include <stdint.h>

#include "system/pc/chardev-out.h"
#include "system/pc/machine.h"

typedef struct Uart Uart;

/* rx_space (may be NULL) is called when the guest has read bytes and uart_can_receive() grew again. */
Uart *uart_create(Machine *m, const char *name, uint16_t port, IrqLine irq, CharOut out,
                  void (*rx_space)(void *opaque), void *rx_opaque);
/* How many bytes uart_receive() takes now (0: the receiver is full). Lock held. */
size_t uart_can_receive(Uart *u);
/* Bytes from the outside world; those beyond uart_can_receive() are lost and flag an overrun. */
void uart_receive(Uart *u, const uint8_t *buf, size_t len);
void uart_reset(void *uart);

#endif
