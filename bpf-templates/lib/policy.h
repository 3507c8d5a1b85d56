/* SPDX-License-Identifier: GPL-2.0 */
/* The policy decision for one endpoint and direction, step for step as
 * include/kpr/policy/policy_lookup.hpp specifies it: a pod's traffic to
 * itself passes; the peer's identities come from the ipcache; the baseline
 * rules decide first (Allow, Deny, or Pass on to NetworkPolicy); a
 * direction no NetworkPolicy enforces passes; otherwise for each distinct
 * peer identity (label, CIDR, any) the any-protocol key, then for TCP, UDP
 * and SCTP one key per port prefix length the endpoint uses — at most
 * 3 x 18 hash lookups. A packet whose port is unknown (a non-first
 * fragment) tries only the prefix length 0: only a rule that allows every
 * port of its protocol lets it through. */
#pragma once

#define KPR_ALLOW -1

static __always_inline int kpr_same_address(const __be32 *a, const __be32 *b, __u8 family)
{
	if (family == 4)
		return a[0] == b[0];
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline int kpr_policy_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

/* KPR_ALLOW, or the drop reason. t is the connection's tuple as its first
 * packet carried it; direction says which end is the endpoint's. A global
 * function: the verifier checks it once, not at every call. */
__attribute__((noinline)) int kpr_policy_decide(__u32 endpoint_id,
						const struct kpr_endpoint_value *endpoint,
						__u32 direction, const struct kpr_tuple *t,
						__u32 ports_known)
{
	const __be32 *peer, *local;
	struct kpr_policy_subject subject = {};
	struct kpr_ipcache_value *cached;
	struct kpr_policy_key key = {};
	__u32 identities[3];
	__u32 lengths;
	int verdict;

	if (!endpoint || !t) /* never: the verifier asks a global function to check */
		return KPR_DROP_UNKNOWN_ENDPOINT;
	peer = direction == KPR_INGRESS ? t->saddr : t->daddr;
	local = direction == KPR_INGRESS ? t->daddr : t->saddr;
	if (kpr_same_address(peer, local, t->family))
		return KPR_ALLOW;
	cached = kpr_ipcache_lookup(t->family, peer);
	subject.local_identity = endpoint->identity;
	subject.peer_identity = cached ? cached->identity : 0;
	subject.peer_cidr_identity = cached ? cached->cidr_identity : 0;
	subject.family = t->family;
	subject.proto = t->proto;
	subject.dport = kpr_policy_has_ports(t->proto) && ports_known ? bpf_ntohs(t->dport) : 0;
	__builtin_memcpy(subject.peer_addr, peer, 16);
	verdict = direction == KPR_INGRESS ? kpr_baseline_ingress(&subject)
					   : kpr_baseline_egress(&subject);
	if (verdict == KPR_BASELINE_ALLOW)
		return KPR_ALLOW;
	if (verdict == KPR_BASELINE_DENY)
		return direction == KPR_INGRESS ? KPR_DROP_BASELINE_DENIED_INGRESS
						: KPR_DROP_BASELINE_DENIED_EGRESS;

	if (direction == KPR_INGRESS) {
		if (!(endpoint->flags & KPR_ENDPOINT_INGRESS_ENFORCED))
			return KPR_ALLOW;
		lengths = endpoint->ingress_port_prefix_lengths;
	} else {
		if (!(endpoint->flags & KPR_ENDPOINT_EGRESS_ENFORCED))
			return KPR_ALLOW;
		lengths = endpoint->egress_port_prefix_lengths;
	}
	if (!ports_known)
		lengths &= 1;
	identities[0] = subject.peer_identity;
	identities[1] = subject.peer_cidr_identity;
	identities[2] = 0;
	key.endpoint_id = endpoint_id;
	key.direction = direction;
	for (int i = 0; i < 3; i++) {
		if ((i == 1 && identities[1] == identities[0]) || (i < 2 && identities[i] == 0))
			continue;
		key.peer_identity = identities[i];
		key.proto = 0;
		key.port = 0;
		key.port_prefix_len = 0;
		if (bpf_map_lookup_elem(&kpr_policy, &key))
			return KPR_ALLOW;
		if (!kpr_policy_has_ports(t->proto))
			continue;
		key.proto = t->proto;
		for (int length = 16; length >= 0; length--) {
			__u16 mask = length == 0 ? 0 : (__u16)(0xffffu << (16 - length));

			if (!(lengths & (1u << length)))
				continue;
			key.port = bpf_htons(bpf_ntohs(t->dport) & mask);
			key.port_prefix_len = length;
			if (bpf_map_lookup_elem(&kpr_policy, &key))
				return KPR_ALLOW;
		}
	}
	return direction == KPR_INGRESS ? KPR_DROP_POLICY_DENIED_INGRESS
					: KPR_DROP_POLICY_DENIED_EGRESS;
}
