/*
 * The user-mode network behind virtio-net: libslirp (NAT, DHCP, DNS, port forwarding) with its sockets
 * and timers driven from the machine's main context. Entry points run with the machine lock held.
 */
#ifndef EMBER_PC_NET_SLIRP_H
#define EMBER_PC_NET_SLIRP_H

#include <glib.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system/pc/machine.h"

typedef struct NetSlirp NetSlirp;
/* An Ethernet frame for the guest (lock held). */
typedef void (*NetSlirpReceive)(void *opaque, const uint8_t *frame, size_t len);

/* 10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15; hostfwd as in virtio-devices.h. */
NetSlirp *net_slirp_new(Machine *m, const char *const *hostfwd, NetSlirpReceive receive, void *opaque,
                        GError **err);
/* Stop: close slirp's sockets and detach from the main context. */
void net_slirp_free(NetSlirp *ns);
/* A frame from the guest (lock held). */
void net_slirp_input(NetSlirp *ns, const uint8_t *frame, size_t len);
/* Parse one hostfwd rule: false with err set on bad syntax. Exposed for tests. */
bool net_slirp_parse_hostfwd(const char *rule, bool *udp, struct in_addr *haddr, int *hport,
                             struct in_addr *gaddr, int *gport, GError **err);

#endif
