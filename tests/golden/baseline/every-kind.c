/* The baseline policy (spec.baselinePolicy), unrolled by kpr-gen. */
/* Label matches, bit i of an identity's kpr_idmatch entry:
 *   0: podLabels {app: kube-dns}, namespaceLabels {kubernetes.io/metadata.name: kube-system}
 *   1: podLabels {app: web}, namespaceLabels {}
 *   2: podLabels {app: db}, namespaceLabels {}
 *   3: podLabels {}, namespaceLabels {kubernetes.io/metadata.name: lab}
 */
static __always_inline void kpr_idmatch_bits(__u32 identity, __u64 *bits)
{
	struct kpr_idmatch_key key = {.identity = identity};
	const struct kpr_idmatch_value *v = bpf_map_lookup_elem(&kpr_idmatch, &key);

	if (v)
		__builtin_memcpy(bits, v->bits, 64);
	else
		__builtin_memset(bits, 0, 64);
}

/* 3 ingress rules, first match decides. */
static __always_inline int kpr_baseline_ingress(const struct kpr_policy_subject *s)
{
	__u64 local_matches[8];
	__u64 peer_matches[8];
	const bool peer_outside = s->peer_identity == 2 ||
				  s->peer_identity == s->peer_cidr_identity;

	kpr_idmatch_bits(s->local_identity, local_matches);
	kpr_idmatch_bits(s->peer_identity, peer_matches);

	/* node-health, priority 1: Allow */
	if (((s->peer_identity == 1) ||
	     (s->peer_identity == 6)))
		return KPR_BASELINE_ALLOW;
	/* web-from-world, priority 10: Pass */
	if ((local_matches[0] & (1ULL << 1)) &&
	    peer_outside &&
	    ((s->proto == IPPROTO_TCP && s->dport >= 8000 && s->dport <= 8100) ||
	     (s->proto == IPPROTO_SCTP)))
		return KPR_BASELINE_PASS;
	/* deny-lab-to-db, priority 10: Deny */
	if ((local_matches[0] & (1ULL << 2)) &&
	    ((peer_matches[0] & (1ULL << 3)) ||
	     (s->family == 4 && (s->peer_addr[0] & bpf_htonl(0xfff00000)) == bpf_htonl(0x0a600000)) ||
	     (s->family == 6 && s->peer_addr[0] == bpf_htonl(0x20010db8) && (s->peer_addr[1] & bpf_htonl(0xfffe0000)) == bpf_htonl(0x12340000))))
		return KPR_BASELINE_DENY;
	return KPR_BASELINE_PASS;
}

/* 3 egress rules, first match decides. */
static __always_inline int kpr_baseline_egress(const struct kpr_policy_subject *s)
{
	__u64 local_matches[8];
	__u64 peer_matches[8];

	kpr_idmatch_bits(s->local_identity, local_matches);
	kpr_idmatch_bits(s->peer_identity, peer_matches);

	/* allow-dns, priority 5: Allow */
	if ((peer_matches[0] & (1ULL << 0)) &&
	    ((s->proto == IPPROTO_UDP && s->dport == 53) ||
	     (s->proto == IPPROTO_TCP && s->dport == 53)))
		return KPR_BASELINE_ALLOW;
	/* deny-metadata, priority 10: Deny */
	if (((s->family == 4 && s->peer_addr[0] == bpf_htonl(0xa9fea9fe)) ||
	     (s->family == 6 && s->peer_addr[0] == bpf_htonl(0xfd000ec2) && s->peer_addr[1] == bpf_htonl(0x00000000) && s->peer_addr[2] == bpf_htonl(0x00000000) && s->peer_addr[3] == bpf_htonl(0x00000254))))
		return KPR_BASELINE_DENY;
	/* all-v4, priority 1000: Deny */
	if ((local_matches[0] & (1ULL << 1)) &&
	    (s->family == 4))
		return KPR_BASELINE_DENY;
	return KPR_BASELINE_PASS;
}
