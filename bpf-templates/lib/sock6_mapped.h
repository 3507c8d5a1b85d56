/* SPDX-License-Identifier: GPL-2.0 */
/* IPv4-mapped IPv6 destinations (::ffff:a.b.c.d) in a cluster with IPv4: an
 * IPv6 socket talking to an IPv4 Service is balanced by the IPv4 maps, only
 * the address's low word changing. */
#pragma once

#include "lib/sock4.h"

static __always_inline enum kpr_xlate kpr_sock6_mapped_forward(void *ctx, __u8 proto,
							       __be32 address[4], __be16 *port)
{
	return kpr_sock4_forward(ctx, proto, &address[3], port);
}

static __always_inline void kpr_sock6_mapped_reverse(void *ctx, __u8 proto, __be32 address[4],
						     __be16 *port)
{
	kpr_sock4_reverse(ctx, proto, &address[3], port);
}
