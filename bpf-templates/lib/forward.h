/* SPDX-License-Identifier: GPL-2.0 */
/* Sending a translated packet on without the stack: a FIB lookup for its
 * new destination, then bpf_redirect_neigh, which resolves the next hop's
 * address and fills the Ethernet header. A reply rewritten to come from a
 * Service address that is local would be dropped as martian if handed to
 * the stack, and a DNATed packet need not be routed twice. A destination
 * the FIB calls local goes to the stack; no route (or forwarding disabled
 * on the receiving interface) is a counted drop. */
#pragma once

#define KPR_AF_INET 2
#define KPR_AF_INET6 10

/* A global function: its stack is its own. */
__attribute__((noinline)) int kpr_forward(struct __sk_buff *skb, const struct kpr_tuple *t)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	if (!t) /* never: the verifier asks a global function to check */
		return TC_ACT_SHOT;
	fib.ifindex = skb->ifindex; /* the receiving interface, at TC ingress */
	fib.l4_protocol = t->proto;
	fib.sport = t->sport;
	fib.dport = t->dport;
	if (t->family == 4) {
		fib.family = KPR_AF_INET;
		fib.ipv4_src = t->saddr[0];
		fib.ipv4_dst = t->daddr[0];
	} else {
		fib.family = KPR_AF_INET6;
		__builtin_memcpy(fib.ipv6_src, t->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, t->daddr, 16);
	}
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
	if (rc == BPF_FIB_LKUP_RET_NOT_FWDED)
		return TC_ACT_OK;
	return kpr_drop(KPR_DROP_NO_ROUTE);
}
