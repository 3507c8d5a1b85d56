/* SPDX-License-Identifier: GPL-2.0 */
/* The external path (docs/datapath-nodeport.md): kpr_from_netdev on the
 * clsact ingress of an external interface translates NodePort,
 * LoadBalancer-ingress and ExternalIP traffic, and kpr_from_pod turns a
 * local backend's replies back. A packet is, in order:
 *   - a backend's reply on another node's flow (reverse NAT entry): written
 *     back to come from the frontend, sent to the client by FIB;
 *   - a translated flow's next packet (forward NAT entry): rewritten;
 *   - the first packet to a frontend with KPR_SVC_EXTERNAL: source ranges,
 *     backend choice (affinity, Maglev, random), SNAT port unless the
 *     backend is local or the frontend is local-only, both entries, rewrite;
 *   - anything else: the stack's (TC_ACT_OK).
 * A translated packet for a pod of this node passes that pod's ingress
 * policy (tuple client -> backend) and enters it by bpf_redirect_peer; any
 * other goes out by FIB and bpf_redirect_neigh. */
#pragma once

#include "lib/affinity.h"
#include "lib/forward.h"
#include "lib/lb.h"
#include "lib/maglev.h"
#include "lib/nat.h"

/* SNAT ports tried for a new flow before it is dropped as exhausted. */
#define KPR_SNAT_PORTS (KPR_SNAT_PORT_LAST - KPR_SNAT_PORT_FIRST + 1)
#define KPR_SNAT_PROBES (KPR_SNAT_PORTS < 32 ? KPR_SNAT_PORTS : 32)

struct kpr_backend_address {
	__be32 address[4];
	__be16 port;
};

/* Slot 0 of the frontend (t's destination, port and protocol), or NULL. */
static __always_inline const struct kpr_service_value *kpr_frontend(const struct kpr_tuple *t,
								    __u16 slot)
{
#ifdef KPR_HAVE_IPV4
	if (t->family == 4) {
		struct kpr_service4_key key = {
			.address = t->daddr[0], .port = t->dport, .proto = t->proto,
			.backend_slot = slot};

		return bpf_map_lookup_elem(&kpr_svc4, &key);
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (t->family == 6) {
		struct kpr_service6_key key = {
			.port = t->dport, .proto = t->proto, .backend_slot = slot};

		__builtin_memcpy(key.address, t->daddr, 16);
		return bpf_map_lookup_elem(&kpr_svc6, &key);
	}
#endif
	return NULL;
}

static __always_inline int kpr_backend(__u8 family, __u32 backend_id,
				       struct kpr_backend_address *out)
{
	struct kpr_backend_key key = {.backend_id = backend_id};

	__builtin_memset(out, 0, sizeof(*out));
#ifdef KPR_HAVE_IPV4
	if (family == 4) {
		struct kpr_backend4 *b = bpf_map_lookup_elem(&kpr_backend4, &key);

		if (!b)
			return -1;
		out->address[0] = b->address;
		out->port = b->port;
		return 0;
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (family == 6) {
		struct kpr_backend6 *b = bpf_map_lookup_elem(&kpr_backend6, &key);

		if (!b)
			return -1;
		__builtin_memcpy(out->address, b->address, 16);
		out->port = b->port;
		return 0;
	}
#endif
	return -1;
}

/* Whether the client may reach the frontend (loadBalancerSourceRanges). */
static __always_inline int kpr_source_admitted(const struct kpr_service_value *frontend,
					       const struct kpr_tuple *t)
{
	if (!(frontend->flags & KPR_SVC_SOURCE_RANGES))
		return 1;
#ifdef KPR_HAVE_IPV4
	if (t->family == 4) {
		struct kpr_srcrange4_key key = {.prefixlen = KPR_SOURCE_RANGE_PREFIX_BITS + 32,
						.rev_nat_id = frontend->rev_nat_id,
						.address = t->saddr[0]};

		return bpf_map_lookup_elem(&kpr_srcrange4, &key) != NULL;
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (t->family == 6) {
		struct kpr_srcrange6_key key = {.prefixlen = KPR_SOURCE_RANGE_PREFIX_BITS + 128,
						.rev_nat_id = frontend->rev_nat_id};

		__builtin_memcpy(key.address, t->saddr, 16);
		return bpf_map_lookup_elem(&kpr_srcrange6, &key) != NULL;
	}
#endif
	return 0;
}

/* The backend for the flow's first packet, its id (0: none usable):
 * affinity's while valid, else Maglev's slot, else a random slot. */
static __always_inline __u32 kpr_choose_backend(const struct kpr_service_value *frontend,
						const struct kpr_tuple *t,
						struct kpr_backend_address *backend)
{
	const struct kpr_service_value *slot;
	__u32 id = 0;

	if (frontend->flags & KPR_SVC_AFFINITY) {
		id = kpr_affinity_backend(frontend, t);
		if (id && kpr_backend(t->family, id, backend) < 0)
			id = 0; /* the backend went away */
	}
	if (!id && (frontend->flags & KPR_SVC_MAGLEV)) {
		id = kpr_maglev_backend(frontend, t);
		if (id && kpr_backend(t->family, id, backend) < 0)
			id = 0;
	}
	if (!id) {
		slot = kpr_frontend(t, kpr_lb_random_slot(frontend->count));
		if (!slot || kpr_backend(t->family, slot->backend_id, backend) < 0)
			return 0;
		id = slot->backend_id;
	}
	if (frontend->flags & KPR_SVC_AFFINITY)
		kpr_affinity_record(frontend, t, id);
	return id;
}

/* The node's SNAT address of the family into out: 0, or -1 when unset. */
static __always_inline int kpr_node_address(__u8 family, __be32 *out)
{
	__u32 index = family == 4 ? KPR_NODE_ADDRESS_IPV4 : KPR_NODE_ADDRESS_IPV6;
	struct kpr_nodeaddr_value *a = bpf_map_lookup_elem(&kpr_nodeaddr, &index);

	if (!a || (a->address[0] | a->address[1] | a->address[2] | a->address[3]) == 0)
		return -1;
	__builtin_memcpy(out, a->address, 16);
	return 0;
}

/* Claims a SNAT port for the flow whose reverse key is `reply` (the backend
 * answering the node's address; its dport is filled in here) by creating
 * the reverse entry `reverse` where no live entry is: the port in network
 * order, or 0 when every probe was taken. */
static __always_inline __be16 kpr_snat_claim(const struct kpr_packet *p, struct kpr_tuple *reply,
					     const struct kpr_nat_view *reverse, __u64 expires_ns)
{
	__u64 seed = kpr_flow_hash(&p->tuple);

	for (__u32 i = 0; i < KPR_SNAT_PROBES; i++) {
		__u16 port = KPR_SNAT_PORT_FIRST + (__u16)((seed + i) % KPR_SNAT_PORTS);

		reply->dport = bpf_htons(port);
		if (kpr_nat_store(reply, KPR_NAT_REVERSE, reverse, expires_ns, BPF_NOEXIST) == 0)
			return reply->dport;
		/* Taken: by a live flow, or by an expired one the LRU kept. */
		if (kpr_nat_free(reply, KPR_NAT_REVERSE, p) &&
		    kpr_nat_store(reply, KPR_NAT_REVERSE, reverse, expires_ns, BPF_ANY) == 0)
			return reply->dport;
	}
	return 0;
}

/* Whether the address is a pod of this node: its endpoint id, or 0. */
static __always_inline __u32 kpr_local_endpoint(__u8 family, const __be32 *address)
{
	struct kpr_ipcache_value *cached = kpr_ipcache_lookup(family, address);

	return cached ? cached->endpoint_id : 0;
}

#define KPR_NOT_EXTERNAL -3 /* no external frontend: the packet is the node's */

/* The first packet of a flow: to an external frontend, the flow's entries
 * are written and *forward set to the packet's rewrite (KPR_ALLOW), or the
 * drop reason; KPR_NOT_EXTERNAL for any other destination. A global
 * function, so its stack is its own, not added to the program's. */
__attribute__((noinline)) int kpr_nodeport_new_flow(const struct kpr_packet *p,
						    struct kpr_nat_view *forward)
{
	const struct kpr_service_value *frontend;
	const struct kpr_tuple *t;
	struct kpr_backend_address backend;
	struct kpr_nat_view reverse = {};
	struct kpr_tuple reply = {};
	__u64 expires_ns;
	__u32 backend_id;
	__be16 port;

	if (!p || !forward) /* never: the verifier asks a global function to check */
		return KPR_NOT_EXTERNAL;
	t = &p->tuple;
	frontend = kpr_frontend(t, 0);
	if (!frontend || !(frontend->flags & KPR_SVC_EXTERNAL))
		return KPR_NOT_EXTERNAL;
	if (!kpr_source_admitted(frontend, t))
		return KPR_DROP_SOURCE_RANGE_DENIED;
	if (frontend->count == 0)
		return frontend->flags & KPR_SVC_LOCAL_ONLY ? KPR_DROP_NO_LOCAL_BACKEND
							    : KPR_DROP_NO_BACKEND;
	backend_id = kpr_choose_backend(frontend, t, &backend);
	if (!backend_id)
		return frontend->flags & KPR_SVC_LOCAL_ONLY ? KPR_DROP_NO_LOCAL_BACKEND
							    : KPR_DROP_NO_BACKEND;

	reverse.state = forward->state = kpr_ct_first_state(p);
	reverse.backend_id = forward->backend_id = backend_id;
	reverse.rev_nat_id = forward->rev_nat_id = frontend->rev_nat_id;
	reverse.flags = forward->flags = (__u8)frontend->flags;
	expires_ns = bpf_ktime_get_ns() + kpr_ct_timeout(t->proto, forward->state);
	/* Reverse: the frontend answers the client. */
	__builtin_memcpy(reverse.to_saddr, t->daddr, 16);
	reverse.to_sport = t->dport;
	__builtin_memcpy(reverse.to_daddr, t->saddr, 16);
	reverse.to_dport = t->sport;
	/* Forward: to the backend, from the client itself or from the node. */
	__builtin_memcpy(forward->to_daddr, backend.address, 16);
	forward->to_dport = backend.port;
	__builtin_memcpy(reply.saddr, backend.address, 16);
	reply.sport = backend.port;
	reply.proto = t->proto;
	reply.family = t->family;
	if ((frontend->flags & KPR_SVC_LOCAL_ONLY) ||
	    kpr_local_endpoint(t->family, backend.address)) {
		/* The reply comes through kpr_from_pod: no SNAT needed. */
		__builtin_memcpy(forward->to_saddr, t->saddr, 16);
		forward->to_sport = t->sport;
		__builtin_memcpy(reply.daddr, t->saddr, 16);
		reply.dport = t->sport;
		kpr_nat_store(&reply, KPR_NAT_REVERSE, &reverse, expires_ns, BPF_ANY);
	} else {
		if (kpr_node_address(t->family, forward->to_saddr) < 0)
			return KPR_DROP_NO_NODE_ADDRESS;
		__builtin_memcpy(reply.daddr, forward->to_saddr, 16);
		port = kpr_snat_claim(p, &reply, &reverse, expires_ns);
		if (!port)
			return KPR_DROP_SNAT_PORTS_EXHAUSTED;
		forward->to_sport = port;
	}
	kpr_nat_store(t, KPR_NAT_FORWARD, forward, expires_ns, BPF_ANY);
	return KPR_ALLOW;
}

#define KPR_NAT_NONE -1

/* The translated flow packet p belongs to: KPR_NAT_REVERSE (a backend's
 * reply) or KPR_NAT_FORWARD (the client's packet) with *v the entry, both
 * of the flow's entries refreshed by p; KPR_NAT_NONE when p is of no
 * translated flow. `replies_only`: look for a backend's reply alone. A
 * global function: its stack is its own. */
__attribute__((noinline)) int kpr_nat_established(const struct kpr_packet *p,
						  struct kpr_nat_view *v, __u32 replies_only)
{
	struct kpr_nat_view unused;
	struct kpr_tuple other;
	int direction = KPR_NAT_REVERSE;

	if (!p || !v) /* never: the verifier asks a global function to check */
		return KPR_NAT_NONE;
	if (!kpr_nat_translatable(p))
		return KPR_NAT_NONE;
	if (kpr_nat_use(&p->tuple, KPR_NAT_REVERSE, v, p, KPR_NAT_REFRESH_REPLY) < 0) {
		if (replies_only ||
		    kpr_nat_use(&p->tuple, KPR_NAT_FORWARD, v, p, KPR_NAT_REFRESH_FORWARD) < 0)
			return KPR_NAT_NONE;
		direction = KPR_NAT_FORWARD;
	}
	kpr_nat_other_key(&other, &p->tuple, v);
	kpr_nat_use(&other, direction ^ 1, &unused, p,
		    direction == KPR_NAT_REVERSE ? KPR_NAT_REFRESH_REPLY : KPR_NAT_REFRESH_FORWARD);
	return direction;
}

/* Packet p, rewritten, goes to a backend: into a local pod through its
 * ingress policy, or out by FIB. */
static __always_inline int kpr_to_backend(struct __sk_buff *skb, const struct kpr_packet *p)
{
	__u32 endpoint_id = kpr_local_endpoint(p->tuple.family, p->tuple.daddr);

	if (!endpoint_id)
		return kpr_forward(skb, &p->tuple);
#ifdef KPR_HAVE_POD_INGRESS
	{
		struct kpr_endpoint_value *endpoint = kpr_endpoint_lookup(endpoint_id);
		int verdict;

		if (!endpoint)
			return kpr_drop(KPR_DROP_UNKNOWN_ENDPOINT);
		verdict = kpr_enforce(endpoint_id, endpoint, KPR_INGRESS, p);
		if (verdict != KPR_ALLOW)
			return kpr_drop(verdict);
	}
#endif
	return bpf_redirect_peer(endpoint_id, 0);
}

static __always_inline int kpr_from_netdev_path(struct __sk_buff *skb)
{
	struct kpr_nat_view v = {};
	struct kpr_packet p;
	int flow, verdict;

	/* Whatever the external path does not translate is the node's. */
	if (kpr_parse(skb, &p) != KPR_PARSED || !kpr_nat_translatable(&p))
		return TC_ACT_OK;
	flow = kpr_nat_established(&p, &v, 0);
	if (flow == KPR_NAT_NONE) {
		verdict = kpr_nodeport_new_flow(&p, &v);
		if (verdict == KPR_NOT_EXTERNAL)
			return TC_ACT_OK;
		if (verdict != KPR_ALLOW)
			return kpr_drop(verdict);
	}
	if (kpr_nat_rewrite(skb, &p, &v) < 0)
		return TC_ACT_SHOT;
	if (flow == KPR_NAT_REVERSE) /* to the client */
		return kpr_forward(skb, &p.tuple);
	return kpr_to_backend(skb, &p);
}

/* In kpr_from_pod: a local backend's reply on a translated flow. Its
 * policy tuple is (backend -> client), the swap of the tuple its ingress
 * side tracked; once its egress side passed it is rewritten to come from
 * the frontend and sent to the client by FIB. KPR_PARSED when p is not
 * such a reply. */
static __always_inline int kpr_reply_from_pod(struct __sk_buff *skb, struct kpr_packet *p,
					      const struct kpr_endpoint_value *endpoint)
{
	struct kpr_nat_view v;

	if (kpr_nat_established(p, &v, 1) != KPR_NAT_REVERSE)
		return KPR_PARSED;
#ifdef KPR_HAVE_POD_EGRESS
	{
		/* Decided in place (a copy of the packet would not fit the
		 * stack next to kpr_enforce's), then the wire tuple restored. */
		__be32 wire_daddr[4];
		__be16 wire_dport = p->tuple.dport;
		int verdict;

		__builtin_memcpy(wire_daddr, p->tuple.daddr, 16);
		__builtin_memcpy(p->tuple.daddr, v.to_daddr, 16);
		p->tuple.dport = v.to_dport;
		verdict = kpr_enforce(skb->ifindex, endpoint, KPR_EGRESS, p);
		__builtin_memcpy(p->tuple.daddr, wire_daddr, 16);
		p->tuple.dport = wire_dport;
		if (verdict != KPR_ALLOW)
			return kpr_drop(verdict);
	}
#endif
	if (kpr_nat_rewrite(skb, p, &v) < 0)
		return TC_ACT_SHOT;
	return kpr_forward(skb, &p->tuple);
}
