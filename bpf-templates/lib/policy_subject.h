/* SPDX-License-Identifier: GPL-2.0 */
/* What the baseline rules (generated into the `baseline` slot of
 * bpf_lxc.c, before lib/policy.h) decide on, and their verdicts. Both
 * functions take the subject and return a KPR_BASELINE_* verdict:
 *   static __always_inline int kpr_baseline_ingress(const struct kpr_policy_subject *s);
 *   static __always_inline int kpr_baseline_egress(const struct kpr_policy_subject *s); */
#pragma once

struct kpr_policy_subject {
	__u32 local_identity; /* the pod this program guards */
	__u32 peer_identity;
	__u32 peer_cidr_identity;
	__u8 family; /* 4 or 6 */
	__u8 proto;  /* IPPROTO_* */
	__u16 dport; /* host order; 0 for ICMP and when unknown (non-first fragments) */
	__be32 peer_addr[4]; /* IPv4 in [0] */
};

#define KPR_BASELINE_PASS 0  /* no rule decided: NetworkPolicy does */
#define KPR_BASELINE_ALLOW 1
#define KPR_BASELINE_DENY 2
