/* SPDX-License-Identifier: GPL-2.0 */
/* Service load balancing shared by both address families: the outcome of a
 * frontend lookup and the choice of a backend slot. */
#pragma once

#include "lib/common.h"

enum kpr_lb_result {
	KPR_LB_NOT_A_SERVICE, /* the destination is no Service frontend */
	KPR_LB_NO_BACKEND,    /* a frontend with no usable backend */
	KPR_LB_BACKEND,       /* a backend was chosen */
};

/* Who is connecting, for ClientIP session affinity: the socket hooks know
 * a client by its network namespace's cookie (address zero), the TC path by
 * its address (cookie 0). */
struct kpr_lb_client {
	__u64 cookie;
	__be32 address[4];
};

/* Slots 1..count of a frontend hold its backends; any one of them, with
 * equal chance. count is at least 1 here. */
static __always_inline __u16 kpr_lb_random_slot(__u16 count)
{
	return (__u16)(bpf_get_prandom_u32() % count) + 1;
}
