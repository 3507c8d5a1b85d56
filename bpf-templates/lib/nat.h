/* SPDX-License-Identifier: GPL-2.0 */
/* The external path's NAT entries (kpr_nat4/6, layout:
 * include/kpr/layout/nat.hpp) and the packet rewrite they drive. A flow has
 * a forward entry (the client's packet as it arrives) and a reverse entry
 * (the backend's reply as it arrives); each says which addresses and ports
 * to write. The packet an entry produces, swapped, is the other entry's
 * key, so either packet finds and refreshes both. Entries follow the
 * conntrack timeouts (KPR_CT_*_NS) by TCP state; a past-expiry entry counts
 * as absent. Only TCP and UDP are translated: their checksums are fixed
 * incrementally (IPv4 header, pseudo-header, ports). */
#pragma once

/* A NAT value of either family. */
struct kpr_nat_view {
	__be32 to_saddr[4];
	__be32 to_daddr[4];
	__be16 to_sport;
	__be16 to_dport;
	__u32 backend_id;
	__u16 rev_nat_id;
	__u8 state;
	__u8 flags; /* the frontend's KPR_SVC_* bits (low byte) */
};

static __always_inline int kpr_nat_translatable(const struct kpr_packet *p)
{
	return p->ports_known && (p->tuple.proto == IPPROTO_TCP || p->tuple.proto == IPPROTO_UDP);
}

/* The tuple the rewritten packet will carry, swapped: the other entry's key. */
static __always_inline void kpr_nat_other_key(struct kpr_tuple *out, const struct kpr_tuple *t,
					      const struct kpr_nat_view *v)
{
	__builtin_memset(out, 0, sizeof(*out));
	__builtin_memcpy(out->saddr, v->to_daddr, 16);
	__builtin_memcpy(out->daddr, v->to_saddr, 16);
	out->sport = v->to_dport;
	out->dport = v->to_sport;
	out->proto = t->proto;
	out->family = t->family;
}

#ifdef KPR_HAVE_IPV4
static __always_inline void kpr_nat4_key_of(struct kpr_nat4_key *k, const struct kpr_tuple *t,
					    __u32 direction)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = t->saddr[0];
	k->daddr = t->daddr[0];
	k->sport = t->sport;
	k->dport = t->dport;
	k->proto = t->proto;
	k->direction = direction;
}
#endif

#ifdef KPR_HAVE_IPV6
static __always_inline void kpr_nat6_key_of(struct kpr_nat6_key *k, const struct kpr_tuple *t,
					    __u32 direction)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->saddr, t->saddr, 16);
	__builtin_memcpy(k->daddr, t->daddr, 16);
	k->sport = t->sport;
	k->dport = t->dport;
	k->proto = t->proto;
	k->direction = direction;
}
#endif

#define KPR_NAT_PEEK 0          /* look only */
#define KPR_NAT_REFRESH_FORWARD 1 /* refreshed by the client's packet p */
#define KPR_NAT_REFRESH_REPLY 2   /* refreshed by the backend's packet p */

/* The live entry (t, direction) into *v: 0, or -1 when there is none; the
 * entry refreshed by packet p first as `mode` says. A global function, as
 * kpr_nat_store: their stacks are their own, not the program's. */
__attribute__((noinline)) int kpr_nat_use(const struct kpr_tuple *t, __u32 direction,
					  struct kpr_nat_view *v, const struct kpr_packet *p,
					  __u32 mode)
{
	__u64 now = bpf_ktime_get_ns();

	if (!t || !v || !p) /* never: the verifier asks a global function to check */
		return -1;

#ifdef KPR_HAVE_IPV4
	if (t->family == 4) {
		struct kpr_nat4_key k;
		struct kpr_nat4_value *e;

		kpr_nat4_key_of(&k, t, direction);
		e = bpf_map_lookup_elem(&kpr_nat4, &k);
		if (!e || e->expires_ns <= now)
			return -1;
		if (mode != KPR_NAT_PEEK) {
			e->state = kpr_ct_next_state(e->state, p, mode == KPR_NAT_REFRESH_REPLY);
			e->expires_ns = now + kpr_ct_timeout(t->proto, e->state);
		}
		__builtin_memset(v, 0, sizeof(*v));
		v->to_saddr[0] = e->to_saddr;
		v->to_daddr[0] = e->to_daddr;
		v->to_sport = e->to_sport;
		v->to_dport = e->to_dport;
		v->backend_id = e->backend_id;
		v->rev_nat_id = e->rev_nat_id;
		v->state = e->state;
		v->flags = e->flags;
		return 0;
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (t->family == 6) {
		struct kpr_nat6_key k;
		struct kpr_nat6_value *e;

		kpr_nat6_key_of(&k, t, direction);
		e = bpf_map_lookup_elem(&kpr_nat6, &k);
		if (!e || e->expires_ns <= now)
			return -1;
		if (mode != KPR_NAT_PEEK) {
			e->state = kpr_ct_next_state(e->state, p, mode == KPR_NAT_REFRESH_REPLY);
			e->expires_ns = now + kpr_ct_timeout(t->proto, e->state);
		}
		__builtin_memcpy(v->to_saddr, e->to_saddr, 16);
		__builtin_memcpy(v->to_daddr, e->to_daddr, 16);
		v->to_sport = e->to_sport;
		v->to_dport = e->to_dport;
		v->backend_id = e->backend_id;
		v->rev_nat_id = e->rev_nat_id;
		v->state = e->state;
		v->flags = e->flags;
		return 0;
	}
#endif
	return -1;
}

/* Writes entry (t, direction) = v, expiring at expires_ns, with
 * bpf_map_update_elem's flags (BPF_NOEXIST claims a free key); its result. */
__attribute__((noinline)) int kpr_nat_store(const struct kpr_tuple *t, __u32 direction,
					    const struct kpr_nat_view *v, __u64 expires_ns,
					    __u64 update_flags)
{
	if (!t || !v) /* never: the verifier asks a global function to check */
		return -1;
#ifdef KPR_HAVE_IPV4
	if (t->family == 4) {
		struct kpr_nat4_key k;
		struct kpr_nat4_value e = {
			.expires_ns = expires_ns,
			.to_saddr = v->to_saddr[0],
			.to_daddr = v->to_daddr[0],
			.to_sport = v->to_sport,
			.to_dport = v->to_dport,
			.backend_id = v->backend_id,
			.rev_nat_id = v->rev_nat_id,
			.state = v->state,
			.flags = v->flags,
		};

		kpr_nat4_key_of(&k, t, direction);
		return bpf_map_update_elem(&kpr_nat4, &k, &e, update_flags);
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (t->family == 6) {
		struct kpr_nat6_key k;
		struct kpr_nat6_value e = {
			.expires_ns = expires_ns,
			.to_sport = v->to_sport,
			.to_dport = v->to_dport,
			.backend_id = v->backend_id,
			.rev_nat_id = v->rev_nat_id,
			.state = v->state,
			.flags = v->flags,
		};

		__builtin_memcpy(e.to_saddr, v->to_saddr, 16);
		__builtin_memcpy(e.to_daddr, v->to_daddr, 16);
		kpr_nat6_key_of(&k, t, direction);
		return bpf_map_update_elem(&kpr_nat6, &k, &e, update_flags);
	}
#endif
	return -1;
}

/* Whether the key (t, direction) is free: no entry, or an expired one. */
static __always_inline int kpr_nat_free(const struct kpr_tuple *t, __u32 direction,
					const struct kpr_packet *p)
{
	struct kpr_nat_view unused;

	return kpr_nat_use(t, direction, &unused, p, KPR_NAT_PEEK) != 0;
}

/* Where the transport checksum sits, from the transport header. */
static __always_inline __u32 kpr_l4_csum_offset(__u8 proto)
{
	return proto == IPPROTO_TCP ? 16 : 6; /* UDP */
}

/* IPv4 UDP may carry no checksum (0): it must stay 0. */
static __always_inline __u64 kpr_l4_csum_flags(const struct kpr_packet *p)
{
	return p->tuple.family == 4 && p->tuple.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

/* Replaces one address (at l3_off in the packet) from `from` to `to`,
 * with the IPv4 header's and the transport pseudo-header's checksums. */
static __always_inline int kpr_rewrite_address(struct __sk_buff *skb, const struct kpr_packet *p,
					       __u32 l3_off, const __be32 *from, const __be32 *to)
{
	__u32 csum = p->l4_off + kpr_l4_csum_offset(p->tuple.proto);
	__u64 flags = BPF_F_PSEUDO_HDR | sizeof(__be32) | kpr_l4_csum_flags(p);
	int words = p->tuple.family == 4 ? 1 : 4;

	for (int i = 0; i < 4; i++) {
		if (i >= words)
			break;
		if (from[i] == to[i])
			continue;
		if (bpf_l4_csum_replace(skb, csum, from[i], to[i], flags) < 0)
			return -1;
		if (p->tuple.family == 4 &&
		    bpf_l3_csum_replace(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, check), from[i],
					to[i], sizeof(__be32)) < 0)
			return -1;
		if (bpf_skb_store_bytes(skb, l3_off + i * 4, &to[i], sizeof(__be32), 0) < 0)
			return -1;
	}
	return 0;
}

static __always_inline int kpr_rewrite_port(struct __sk_buff *skb, const struct kpr_packet *p,
					    __u32 port_off, __be16 from, __be16 to)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, p->l4_off + kpr_l4_csum_offset(p->tuple.proto), from, to,
				sizeof(__be16) | kpr_l4_csum_flags(p)) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, p->l4_off + port_off, &to, sizeof(to), 0);
}

/* Rewrites packet p to (v->to_saddr:to_sport -> v->to_daddr:to_dport) and
 * p->tuple with it; 0, or -1 when the packet could not be written. A
 * global function: its stack is its own. */
__attribute__((noinline)) int kpr_nat_rewrite(struct __sk_buff *skb, struct kpr_packet *p,
					      const struct kpr_nat_view *v)
{
	__u32 saddr_off, daddr_off;

	if (!p || !v) /* never: the verifier asks a global function to check */
		return -1;
	saddr_off = p->tuple.family == 4 ? ETH_HLEN + __builtin_offsetof(struct iphdr, saddr)
					 : ETH_HLEN + __builtin_offsetof(struct ipv6hdr, saddr);
	daddr_off = p->tuple.family == 4 ? ETH_HLEN + __builtin_offsetof(struct iphdr, daddr)
					 : ETH_HLEN + __builtin_offsetof(struct ipv6hdr, daddr);
	if (kpr_rewrite_address(skb, p, saddr_off, p->tuple.saddr, v->to_saddr) < 0 ||
	    kpr_rewrite_address(skb, p, daddr_off, p->tuple.daddr, v->to_daddr) < 0 ||
	    kpr_rewrite_port(skb, p, 0, p->tuple.sport, v->to_sport) < 0 ||
	    kpr_rewrite_port(skb, p, 2, p->tuple.dport, v->to_dport) < 0)
		return -1;
	__builtin_memcpy(p->tuple.saddr, v->to_saddr, 16);
	__builtin_memcpy(p->tuple.daddr, v->to_daddr, 16);
	p->tuple.sport = v->to_sport;
	p->tuple.dport = v->to_dport;
	return 0;
}
