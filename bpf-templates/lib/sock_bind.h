/* SPDX-License-Identifier: GPL-2.0 */
/* The bind4/bind6 hooks: a NodePort is the Services' on every node address,
 * so a local process may not bind() its port and protocol on any address;
 * it gets EADDRINUSE, as if a listener held the port. Port 0 (the kernel
 * picks one) is never a NodePort. */
#pragma once

#include "lib/common.h"

static __always_inline int kpr_sock_bind(struct bpf_sock_addr *ctx)
{
	struct kpr_nodeport_key key = {
		.port = (__be16)ctx->user_port, .proto = (__u8)ctx->protocol
	};

	if (key.port == 0 || !bpf_map_lookup_elem(&kpr_nodeport, &key))
		return KPR_SOCK_PROCEED;
	bpf_set_retval(-EADDRINUSE);
	return KPR_SOCK_FAIL;
}
