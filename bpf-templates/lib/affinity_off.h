/* SPDX-License-Identifier: GPL-2.0 */
/* ClientIP session affinity switched off by the cluster schema
 * (features.sessionAffinity): there is no kpr_affinity map, nothing is
 * remembered and every connection draws its backend. */
#pragma once

#include "lib/lb.h"

/* Nothing is remembered, so the socket's client needs no lookup. */
static __always_inline __u64 kpr_affinity_socket_client(void *ctx)
{
	return 0;
}

static __always_inline __u32 kpr_affinity_backend(const struct kpr_lb_client *client, __u8 family,
						  __u16 rev_nat_id, __u32 timeout_seconds, __u64 now)
{
	return 0;
}

static __always_inline void kpr_affinity_remember(const struct kpr_lb_client *client, __u8 family,
						  __u16 rev_nat_id, __u32 backend_id, __u64 now)
{
}
