/* SPDX-License-Identifier: GPL-2.0 */
/* What the cgroup socket hooks of both families share: the outcome of
 * translating a destination and the verdict that follows from it. */
#pragma once

#include "lib/lb.h"

enum kpr_xlate {
	KPR_XLATE_NONE,   /* not a Service: leave the address alone */
	KPR_XLATE_DONE,   /* rewritten to a backend */
	KPR_XLATE_REFUSE, /* a Service with no usable backend */
};

static __always_inline enum kpr_xlate kpr_xlate_of(enum kpr_lb_result result)
{
	if (result == KPR_LB_NOT_A_SERVICE)
		return KPR_XLATE_NONE;
	return result == KPR_LB_BACKEND ? KPR_XLATE_DONE : KPR_XLATE_REFUSE;
}

/* A Service without a usable backend fails connect() and sendmsg() at once
 * with ECONNREFUSED, the errno kube-proxy's REJECT rule produces, instead of
 * letting the client wait for a VIP nobody answers. */
static __always_inline int kpr_sock_verdict(enum kpr_xlate xlate)
{
	if (xlate != KPR_XLATE_REFUSE)
		return KPR_SOCK_PROCEED;
	bpf_set_retval(-ECONNREFUSED);
	return KPR_SOCK_FAIL;
}
