/* SPDX-License-Identifier: GPL-2.0 */
/* The IPv6 socket load balancer, the IPv6 twin of lib/sock4.h. An IPv4-mapped
 * destination (::ffff:a.b.c.d) is handed to kpr_sock6_mapped_forward() and
 * kpr_sock6_mapped_reverse(), defined by lib/sock6_mapped.h or, without
 * IPv4, lib/sock6_unmapped.h; one of them is included before this file.
 *
 * Each program stores to its context once, after the family choice: the
 * verifier refuses a store through a context pointer the compiler has moved,
 * which merging two stores from two branches produces. */
#pragma once

#include "lib/lb6.h"
#include "lib/sock.h"

static __always_inline bool kpr_ipv6_is_v4_mapped(const __be32 address[4])
{
	return address[0] == 0 && address[1] == 0 && address[2] == bpf_htonl(0x0000ffff);
}

static __always_inline bool kpr_ipv6_equal(const __be32 a[4], const __be32 b[4])
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline void kpr_sock6_load(const struct bpf_sock_addr *ctx, __be32 address[4])
{
	address[0] = ctx->user_ip6[0];
	address[1] = ctx->user_ip6[1];
	address[2] = ctx->user_ip6[2];
	address[3] = ctx->user_ip6[3];
}

static __always_inline void kpr_sock6_store(struct bpf_sock_addr *ctx, const __be32 address[4],
					    __be16 port)
{
	ctx->user_ip6[0] = address[0];
	ctx->user_ip6[1] = address[1];
	ctx->user_ip6[2] = address[2];
	ctx->user_ip6[3] = address[3];
	ctx->user_port = port;
}

static __always_inline void kpr_revnat6_remember(__u64 cookie, const struct kpr_lb6_choice *choice,
						 const __be32 frontend_address[4],
						 __be16 frontend_port)
{
	struct kpr_revnat6_key key = { .cookie = cookie, .port = choice->port };
	struct kpr_revnat6_value value = { .port = frontend_port, .rev_nat_id = choice->rev_nat_id };
	const struct kpr_revnat6_value *known;

	kpr_ipv6_copy(key.address, choice->address);
	kpr_ipv6_copy(value.address, frontend_address);
	known = bpf_map_lookup_elem(&kpr_revnat6, &key);
	/* sendmsg() runs per datagram: write only what changed. */
	if (known && kpr_ipv6_equal(known->address, value.address) && known->port == value.port &&
	    known->rev_nat_id == value.rev_nat_id)
		return;
	bpf_map_update_elem(&kpr_revnat6, &key, &value, BPF_ANY);
}

static __always_inline enum kpr_xlate kpr_sock6_forward(void *ctx, __u8 proto, __be32 address[4],
							__be16 *port)
{
	struct kpr_lb_client client = { .cookie = kpr_affinity_socket_client(ctx) };
	struct kpr_lb6_choice choice;
	enum kpr_xlate xlate = kpr_xlate_of(kpr_lb6_pick(address, *port, proto, &client, &choice));

	if (xlate != KPR_XLATE_DONE)
		return xlate;
	kpr_revnat6_remember(bpf_get_socket_cookie(ctx), &choice, address, *port);
	kpr_ipv6_copy(address, choice.address);
	*port = choice.port;
	return KPR_XLATE_DONE;
}

static __always_inline void kpr_sock6_reverse(void *ctx, __u8 proto, __be32 address[4],
					      __be16 *port)
{
	struct kpr_revnat6_key key = { .cookie = bpf_get_socket_cookie(ctx), .port = *port };
	const struct kpr_revnat6_value *frontend;
	const struct kpr_service_value *service;

	kpr_ipv6_copy(key.address, address);
	frontend = bpf_map_lookup_elem(&kpr_revnat6, &key);
	if (!frontend)
		return;
	/* The frontend may have been deleted, or its VIP given to another
	 * Service, since this socket was translated. */
	service = kpr_lb6_frontend(frontend->address, frontend->port, proto);
	if (!service || service->rev_nat_id != frontend->rev_nat_id) {
		bpf_map_delete_elem(&kpr_revnat6, &key);
		return;
	}
	kpr_ipv6_copy(address, frontend->address);
	*port = frontend->port;
}

/* connect6 and sendmsg6 */
static __always_inline int kpr_sock6_to_backend(struct bpf_sock_addr *ctx)
{
	__be32 address[4];
	__be16 port = (__be16)ctx->user_port;
	enum kpr_xlate xlate;

	kpr_sock6_load(ctx, address);
	if (kpr_ipv6_is_v4_mapped(address))
		xlate = kpr_sock6_mapped_forward(ctx, (__u8)ctx->protocol, address, &port);
	else
		xlate = kpr_sock6_forward(ctx, (__u8)ctx->protocol, address, &port);
	if (xlate == KPR_XLATE_DONE)
		kpr_sock6_store(ctx, address, port);
	return kpr_sock_verdict(xlate);
}

/* recvmsg6 and getpeername6 */
static __always_inline int kpr_sock6_to_service(struct bpf_sock_addr *ctx)
{
	__be32 address[4];
	__be16 port = (__be16)ctx->user_port;

	kpr_sock6_load(ctx, address);
	if (kpr_ipv6_is_v4_mapped(address))
		kpr_sock6_mapped_reverse(ctx, (__u8)ctx->protocol, address, &port);
	else
		kpr_sock6_reverse(ctx, (__u8)ctx->protocol, address, &port);
	kpr_sock6_store(ctx, address, port);
	return KPR_SOCK_PROCEED;
}
