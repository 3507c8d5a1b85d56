/* SPDX-License-Identifier: GPL-2.0 */
/* Connection tracking in the LRU maps kpr_ct4/6 (layout:
 * include/kpr/layout/conntrack.hpp). An entry is keyed by the tuple of the
 * packet that opened the connection and the policy direction that allowed
 * it; a reply is found under the swapped tuple and the other direction.
 * TCP moves new -> established (a reply seen) -> closing (FIN or RST seen);
 * each state, UDP, SCTP and ICMP echo have their idle timeouts from the
 * schema (KPR_CT_*_NS, generated). An entry past its expiry counts as
 * absent and is removed when met. A connection whose allow was removed is
 * kept as revoked (TCP: for the closing timeout) so that its packets, from
 * either end, are decided on its original tuple instead of opening it again
 * as new. */
#pragma once

static __always_inline __u64 kpr_ct_timeout(__u8 proto, __u8 state)
{
	switch (proto) {
	case IPPROTO_TCP:
		if (state == KPR_CT_NEW)
			return KPR_CT_TCP_NEW_NS;
		if (state == KPR_CT_CLOSING || state == KPR_CT_REVOKED)
			return KPR_CT_TCP_CLOSING_NS;
		return KPR_CT_TCP_ESTABLISHED_NS;
	case IPPROTO_SCTP: /* association heartbeats are 30 s apart by default */
		return KPR_CT_TCP_ESTABLISHED_NS;
	case IPPROTO_UDP:
		return KPR_CT_UDP_NS;
	}
	return KPR_CT_ICMP_NS;
}

/* Whether a packet of this kind opens a tracked connection when allowed:
 * TCP, UDP and SCTP with known ports, and ICMP echo requests. ICMP errors,
 * other ICMP, non-first fragments and other protocols are decided by
 * policy packet by packet. */
static __always_inline int kpr_ct_trackable(const struct kpr_packet *p)
{
	if (p->tuple.proto == IPPROTO_ICMP || p->tuple.proto == IPPROTO_ICMPV6)
		return p->icmp_kind == KPR_ICMP_ECHO_REQUEST;
	return p->ports_known;
}

#ifdef KPR_HAVE_IPV4
static __always_inline void kpr_ct4_key_of(struct kpr_ct4_key *k, const struct kpr_tuple *t,
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
static __always_inline void kpr_ct6_key_of(struct kpr_ct6_key *k, const struct kpr_tuple *t,
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

static __always_inline void kpr_ct_delete(const struct kpr_tuple *t, __u32 direction)
{
#ifdef KPR_HAVE_IPV4
	if (t->family == 4) {
		struct kpr_ct4_key k;

		kpr_ct4_key_of(&k, t, direction);
		bpf_map_delete_elem(&kpr_ct4, &k);
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (t->family == 6) {
		struct kpr_ct6_key k;

		kpr_ct6_key_of(&k, t, direction);
		bpf_map_delete_elem(&kpr_ct6, &k);
	}
#endif
}

/* The live entry of (t, direction), or NULL; an expired one is removed. */
static __always_inline struct kpr_ct_value *kpr_ct_find(const struct kpr_tuple *t, __u32 direction)
{
	struct kpr_ct_value *v = NULL;

#ifdef KPR_HAVE_IPV4
	if (t->family == 4) {
		struct kpr_ct4_key k;

		kpr_ct4_key_of(&k, t, direction);
		v = bpf_map_lookup_elem(&kpr_ct4, &k);
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (t->family == 6) {
		struct kpr_ct6_key k;

		kpr_ct6_key_of(&k, t, direction);
		v = bpf_map_lookup_elem(&kpr_ct6, &k);
	}
#endif
	if (v && v->expires_ns <= bpf_ktime_get_ns()) {
		kpr_ct_delete(t, direction);
		return NULL;
	}
	return v;
}

/* TCP's state after packet p of a connection in `state` (is_reply: p goes
 * against the connection's opening direction). */
static __always_inline __u8 kpr_ct_next_state(__u8 state, const struct kpr_packet *p,
					       int is_reply)
{
	if (p->tuple.proto != IPPROTO_TCP)
		return state;
	if (p->tcp_flags & (KPR_TCP_FIN | KPR_TCP_RST))
		return KPR_CT_CLOSING;
	if (is_reply && state == KPR_CT_NEW)
		return KPR_CT_ESTABLISHED;
	if (!is_reply && state == KPR_CT_CLOSING && (p->tcp_flags & KPR_TCP_SYN) &&
	    !(p->tcp_flags & KPR_TCP_ACK))
		return KPR_CT_NEW; /* the tuple reused by a new connection */
	return state;
}

/* The state a connection's first packet gives it. */
static __always_inline __u8 kpr_ct_first_state(const struct kpr_packet *p)
{
	if (p->tuple.proto == IPPROTO_TCP) {
		if (p->tcp_flags & (KPR_TCP_FIN | KPR_TCP_RST))
			return KPR_CT_CLOSING;
		if ((p->tcp_flags & KPR_TCP_SYN) && !(p->tcp_flags & KPR_TCP_ACK))
			return KPR_CT_NEW;
	}
	return KPR_CT_ESTABLISHED;
}

static __always_inline void kpr_ct_create(const struct kpr_packet *p, __u32 direction,
					  __u32 policy_revision)
{
	struct kpr_ct_value v = {.policy_revision = policy_revision,
				 .state = kpr_ct_first_state(p)};

	v.expires_ns = bpf_ktime_get_ns() + kpr_ct_timeout(p->tuple.proto, v.state);
#ifdef KPR_HAVE_IPV4
	if (p->tuple.family == 4) {
		struct kpr_ct4_key k;

		kpr_ct4_key_of(&k, &p->tuple, direction);
		bpf_map_update_elem(&kpr_ct4, &k, &v, BPF_ANY);
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (p->tuple.family == 6) {
		struct kpr_ct6_key k;

		kpr_ct6_key_of(&k, &p->tuple, direction);
		bpf_map_update_elem(&kpr_ct6, &k, &v, BPF_ANY);
	}
#endif
}

/* A packet of the entry's connection passed: advance TCP's state, note a
 * reply, and push the expiry out by the state's timeout. */
static __always_inline void kpr_ct_refresh(struct kpr_ct_value *v, const struct kpr_packet *p,
					   int is_reply)
{
	v->state = kpr_ct_next_state(v->state, p, is_reply);
	if (is_reply)
		v->flags |= KPR_CT_REPLY_SEEN;
	v->expires_ns = bpf_ktime_get_ns() + kpr_ct_timeout(p->tuple.proto, v->state);
}

/* The connection's allow is gone: its packets are dropped until policy
 * allows it again or the entry times out; a new TCP connection may reuse
 * the tuple (kpr_ct_reopened). Dropped packets do not push the timer out. */
static __always_inline void kpr_ct_revoke(struct kpr_ct_value *v, __u8 proto)
{
	v->state = KPR_CT_REVOKED;
	v->expires_ns = bpf_ktime_get_ns() + kpr_ct_timeout(proto, KPR_CT_REVOKED);
}

/* A SYN without ACK on a revoked entry's tuple, in its opening direction,
 * starts a new connection: policy decides it afresh. */
static __always_inline int kpr_ct_reopened(const struct kpr_ct_value *v,
					   const struct kpr_packet *p)
{
	return v->state == KPR_CT_REVOKED && p->tuple.proto == IPPROTO_TCP &&
	       (p->tcp_flags & KPR_TCP_SYN) && !(p->tcp_flags & KPR_TCP_ACK);
}
