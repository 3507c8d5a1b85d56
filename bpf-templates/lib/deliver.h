/* SPDX-License-Identifier: GPL-2.0 */
/* The two pod programs' paths (docs/datapath-tc.md), each endpoint's side
 * decided by kpr_enforce (enforce.h). kpr_from_pod delivers to a pod of
 * this node with bpf_redirect_peer only after that pod's ingress side
 * passed; everything else meets kpr_to_pod on its way in. A pod's reply to
 * an external client whose flow the external path translated is turned
 * back (nodeport.h) after the pod's egress side passed. */
#pragma once

/* What both programs start with: the frame parsed and the endpoint behind
 * the veth found. KPR_PARSED with *endpoint set, or the verdict already
 * reached: TC_ACT_OK for frames policy does not cover (non-IP, IPv6
 * neighbour discovery), a counted drop for a bad header or an unknown
 * endpoint. */
static __always_inline int kpr_begin(struct __sk_buff *skb, struct kpr_packet *p,
				     struct kpr_endpoint_value **endpoint)
{
	int parsed = kpr_parse(skb, p);

	if (parsed == KPR_NOT_IP)
		return TC_ACT_OK;
	if (parsed != KPR_PARSED)
		return kpr_drop(parsed);
	if (p->icmp_kind == KPR_ICMP_NEIGHBOUR)
		return TC_ACT_OK;
	*endpoint = kpr_endpoint_lookup(skb->ifindex);
	if (!*endpoint)
		return kpr_drop(KPR_DROP_UNKNOWN_ENDPOINT);
	return KPR_PARSED;
}

/* The packet leaves a pod through its host-side veth (clsact ingress). */
static __always_inline int kpr_from_pod_path(struct __sk_buff *skb)
{
	struct kpr_endpoint_value *endpoint = NULL;
	struct kpr_packet p;
	int verdict = kpr_begin(skb, &p, &endpoint);

	if (verdict != KPR_PARSED)
		return verdict;
#ifdef KPR_HAVE_NODE_INGRESS
	verdict = kpr_reply_from_pod(skb, &p, endpoint);
	if (verdict != KPR_PARSED)
		return verdict;
#endif
#ifdef KPR_HAVE_POD_EGRESS
	verdict = kpr_enforce(skb->ifindex, endpoint, KPR_EGRESS, &p);
	if (verdict != KPR_ALLOW)
		return kpr_drop(verdict);
#endif
#ifdef KPR_HAVE_POD_INGRESS
	{
		struct kpr_ipcache_value *destination =
			kpr_ipcache_lookup(p.tuple.family, p.tuple.daddr);
		struct kpr_endpoint_value *peer;
		__u32 peer_id;

		if (!destination || !destination->endpoint_id)
			return TC_ACT_OK;
		peer_id = destination->endpoint_id;
		peer = kpr_endpoint_lookup(peer_id);
		if (!peer)
			return kpr_drop(KPR_DROP_UNKNOWN_ENDPOINT);
		verdict = kpr_enforce(peer_id, peer, KPR_INGRESS, &p);
		if (verdict != KPR_ALLOW)
			return kpr_drop(verdict);
		return bpf_redirect_peer(peer_id, 0);
	}
#endif
	return TC_ACT_OK;
}

/* The packet enters a pod through its host-side veth (clsact egress). */
static __always_inline int kpr_to_pod_path(struct __sk_buff *skb)
{
	struct kpr_endpoint_value *endpoint = NULL;
	struct kpr_packet p;
	int verdict = kpr_begin(skb, &p, &endpoint);

	if (verdict != KPR_PARSED)
		return verdict;
	verdict = kpr_enforce(skb->ifindex, endpoint, KPR_INGRESS, &p);
	if (verdict != KPR_ALLOW)
		return kpr_drop(verdict);
	return TC_ACT_OK;
}
