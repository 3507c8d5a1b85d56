/* SPDX-License-Identifier: GPL-2.0 */
/* One endpoint's side of a packet (docs/datapath-tc.md): conntrack first —
 * a packet of a tracked connection passes, after the policy_revision
 * re-check — then an ICMP error about a tracked connection passes as
 * related, then policy decides, and an allowed packet that can open a
 * connection gets an entry. The pod programs (deliver.h) and the external
 * path (nodeport.h) both decide through kpr_enforce. */
#pragma once

/* A tracked connection's packet. entry_tuple/entry_direction: the entry's
 * key, i.e. the connection's original tuple and the direction its policy
 * was decided in. When the endpoint's policy changed since, decide again. */
static __always_inline int kpr_ct_recheck(struct kpr_ct_value *v, __u32 endpoint_id,
					  const struct kpr_endpoint_value *endpoint,
					  const struct kpr_tuple *entry_tuple, __u32 entry_direction)
{
	/* A revoked connection is decided again at each of its packets, so
	 * an allow added back revives it without waiting for a revision. */
	if (v->state != KPR_CT_REVOKED && v->policy_revision == endpoint->policy_revision)
		return KPR_ALLOW;
	if (kpr_policy_decide(endpoint_id, endpoint, entry_direction, entry_tuple, 1) !=
	    KPR_ALLOW) {
		/* Kept, not deleted: otherwise the other end's next packet,
		 * untracked, could open the connection anew where that end's
		 * direction is not enforced, and this end's packets would then
		 * pass as its replies. */
		if (v->state != KPR_CT_REVOKED)
			kpr_ct_revoke(v, entry_tuple->proto);
		return KPR_DROP_POLICY_REVOKED;
	}
	if (v->state == KPR_CT_REVOKED)
		v->state = KPR_CT_ESTABLISHED;
	v->policy_revision = endpoint->policy_revision;
	return KPR_ALLOW;
}

/* KPR_ALLOW or the drop reason, for the packet p crossing the endpoint's
 * boundary in direction (KPR_EGRESS: leaving it). A global function, so
 * the verifier checks it once for both programs' calls. */
__attribute__((noinline)) int kpr_enforce(__u32 endpoint_id,
					  const struct kpr_endpoint_value *endpoint,
					  __u32 direction, const struct kpr_packet *p)
{
	__u32 other = direction ^ 1;
	struct kpr_tuple swapped;
	struct kpr_ct_value *v;
	int verdict;

	if (!endpoint || !p) /* never: the verifier asks a global function to check */
		return KPR_DROP_UNKNOWN_ENDPOINT;

	if (kpr_ct_trackable(p) || p->icmp_kind == KPR_ICMP_ECHO_REPLY) {
		v = kpr_ct_find(&p->tuple, direction);
		if (v && kpr_ct_reopened(v, p))
			goto decide;
		if (v) {
			verdict = kpr_ct_recheck(v, endpoint_id, endpoint, &p->tuple, direction);
			if (verdict == KPR_ALLOW)
				kpr_ct_refresh(v, p, 0);
			return verdict;
		}
		kpr_tuple_swap(&swapped, &p->tuple);
		v = kpr_ct_find(&swapped, other);
		if (v) {
			verdict = kpr_ct_recheck(v, endpoint_id, endpoint, &swapped, other);
			if (verdict == KPR_ALLOW)
				kpr_ct_refresh(v, p, 1);
			return verdict;
		}
	}
	if (p->icmp_kind == KPR_ICMP_ERROR && p->has_inner) {
		/* The embedded packet is one this endpoint received (when the
		 * error leaves it) or sent (when the error comes in): a forward
		 * packet of a connection tracked in the other direction, or a
		 * reply of one tracked in this direction. */
		v = kpr_ct_find(&p->inner, other);
		if (v)
			return kpr_ct_recheck(v, endpoint_id, endpoint, &p->inner, other);
		kpr_tuple_swap(&swapped, &p->inner);
		v = kpr_ct_find(&swapped, direction);
		if (v)
			return kpr_ct_recheck(v, endpoint_id, endpoint, &swapped, direction);
	}
decide:
	verdict = kpr_policy_decide(endpoint_id, endpoint, direction, &p->tuple, p->ports_known);
	if (verdict == KPR_ALLOW && kpr_ct_trackable(p))
		kpr_ct_create(p, direction, endpoint->policy_revision);
	return verdict;
}

static __always_inline struct kpr_endpoint_value *kpr_endpoint_lookup(__u32 endpoint_id)
{
	struct kpr_endpoint_key key = {.endpoint_id = endpoint_id};

	return bpf_map_lookup_elem(&kpr_endpoint, &key);
}
