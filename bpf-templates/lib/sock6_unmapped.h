/* SPDX-License-Identifier: GPL-2.0 */
/* IPv4-mapped IPv6 destinations in an IPv6-only cluster: there is no IPv4
 * Service for them to reach, so they are left alone. */
#pragma once

#include "lib/sock.h"

static __always_inline enum kpr_xlate kpr_sock6_mapped_forward(void *ctx, __u8 proto,
							       __be32 address[4], __be16 *port)
{
	return KPR_XLATE_NONE;
}

static __always_inline void kpr_sock6_mapped_reverse(void *ctx, __u8 proto, __be32 address[4],
						     __be16 *port)
{
}
