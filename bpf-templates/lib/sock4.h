/* SPDX-License-Identifier: GPL-2.0 */
/* The IPv4 socket load balancer. connect() and sendmsg() to a Service
 * frontend go to one of its backends; recvmsg() and getpeername() show the
 * frontend again, by the socket's cookie, as long as that frontend lives. */
#pragma once

#include "lib/lb4.h"
#include "lib/sock.h"

static __always_inline void kpr_revnat4_remember(__u64 cookie, const struct kpr_lb4_choice *choice,
						 __be32 frontend_address, __be16 frontend_port)
{
	struct kpr_revnat4_key key = {
		.cookie = cookie, .address = choice->address, .port = choice->port
	};
	struct kpr_revnat4_value value = {
		.address = frontend_address, .port = frontend_port, .rev_nat_id = choice->rev_nat_id
	};
	const struct kpr_revnat4_value *known = bpf_map_lookup_elem(&kpr_revnat4, &key);

	/* sendmsg() runs per datagram: write only what changed. */
	if (known && known->address == value.address && known->port == value.port &&
	    known->rev_nat_id == value.rev_nat_id)
		return;
	bpf_map_update_elem(&kpr_revnat4, &key, &value, BPF_ANY);
}

static __always_inline enum kpr_xlate kpr_sock4_forward(void *ctx, __u8 proto, __be32 *address,
							__be16 *port)
{
	struct kpr_lb_client client = { .cookie = kpr_affinity_socket_client(ctx) };
	struct kpr_lb4_choice choice;
	enum kpr_xlate xlate = kpr_xlate_of(kpr_lb4_pick(*address, *port, proto, &client, &choice));

	if (xlate != KPR_XLATE_DONE)
		return xlate;
	kpr_revnat4_remember(bpf_get_socket_cookie(ctx), &choice, *address, *port);
	*address = choice.address;
	*port = choice.port;
	return KPR_XLATE_DONE;
}

static __always_inline void kpr_sock4_reverse(void *ctx, __u8 proto, __be32 *address, __be16 *port)
{
	struct kpr_revnat4_key key = {
		.cookie = bpf_get_socket_cookie(ctx), .address = *address, .port = *port
	};
	const struct kpr_revnat4_value *frontend = bpf_map_lookup_elem(&kpr_revnat4, &key);
	const struct kpr_service_value *service;

	if (!frontend)
		return;
	/* The frontend may have been deleted, or its VIP given to another
	 * Service, since this socket was translated. */
	service = kpr_lb4_frontend(frontend->address, frontend->port, proto);
	if (!service || service->rev_nat_id != frontend->rev_nat_id) {
		bpf_map_delete_elem(&kpr_revnat4, &key);
		return;
	}
	*address = frontend->address;
	*port = frontend->port;
}

/* connect4 and sendmsg4 */
static __always_inline int kpr_sock4_to_backend(struct bpf_sock_addr *ctx)
{
	__be32 address = ctx->user_ip4;
	__be16 port = (__be16)ctx->user_port;
	enum kpr_xlate xlate = kpr_sock4_forward(ctx, (__u8)ctx->protocol, &address, &port);

	if (xlate == KPR_XLATE_DONE) {
		ctx->user_ip4 = address;
		ctx->user_port = port;
	}
	return kpr_sock_verdict(xlate);
}

/* recvmsg4 and getpeername4 */
static __always_inline int kpr_sock4_to_service(struct bpf_sock_addr *ctx)
{
	__be32 address = ctx->user_ip4;
	__be16 port = (__be16)ctx->user_port;

	kpr_sock4_reverse(ctx, (__u8)ctx->protocol, &address, &port);
	ctx->user_ip4 = address;
	ctx->user_port = port;
	return KPR_SOCK_PROCEED;
}
