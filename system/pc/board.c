/* The legacy devices' side of the wiring (see board.h), over system/pc/devices. */
#include "system/pc/board.h"

#include "system/pc/devices/pc-devices.h"

static PcDevices *pc_board_devices;   /* one machine per process */

static size_t pc_board_uart_can_receive(void *opaque) { return uart_can_receive(opaque); }

static void pc_board_uart_receive(void *opaque, const uint8_t *buf, size_t len) { uart_receive(opaque, buf, len); }

bool pc_board_create_devices(Machine *m, const CharOut com_out[2], PcCharFrontend com_in[2],
                             void (*rx_ready)(void *opaque, int index), void *rx_opaque, GError **err)
{
    PcDevicesConfig cfg = { .uart_rx_ready = rx_ready, .uart_rx_opaque = rx_opaque };
    for (int i = 0; i < PC_NUM_UARTS && i < 2; i++) {
        cfg.uart_out[i] = com_out[i];
    }
    pc_board_devices = pc_devices_create(m, &cfg, err);
    if (!pc_board_devices) {
        return false;
    }
    for (int i = 0; i < 2; i++) {
        Uart *u = pc_devices_uart(pc_board_devices, i);
        com_in[i] = (PcCharFrontend){ u ? pc_board_uart_can_receive : NULL, u ? pc_board_uart_receive : NULL, u };
    }
    return true;
}

void pc_board_power_button(Machine *m)
{
    (void)m;
    if (pc_board_devices) {
        pc_devices_power_button(pc_board_devices);
    }
}
