/* SPDX-License-Identifier: GPL-2.0 */
/* Reads a packet's headers into struct kpr_packet: Ethernet, IPv4 (options
 * skipped by its header length) or IPv6 (hop-by-hop, routing, destination
 * options, fragment and authentication headers followed, at most
 * KPR_IPV6_MAX_EXTENSIONS of them), then TCP, UDP, SCTP, ICMP or ICMPv6.
 * A header that does not fit in the packet is a drop with a reason; a
 * non-first fragment has no transport header, so its ports are unknown
 * (docs/datapath-tc.md says what policy makes of that). Every read goes
 * through bpf_skb_load_bytes, which checks the bounds itself. */
#pragma once

#define KPR_PARSED -1
#define KPR_NOT_IP -2 /* ARP and other non-IP frames */

#define KPR_IPV6_MAX_EXTENSIONS 8

#define KPR_IPV4_FRAG_OFFSET 0x1fff
#define KPR_IPV6_FRAG_OFFSET 0xfff8

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* Ports of a transport header at off into t (ICMP: the echo identifier);
 * 0 when they were read, -1 when the packet ends first. */
static __always_inline int kpr_read_ports(struct __sk_buff *skb, __u32 off, struct kpr_tuple *t,
					  __u8 *icmp_kind)
{
	__u8 icmp[8];

	*icmp_kind = KPR_ICMP_OTHER;
	switch (t->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		__be16 ports[2];

		if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
			return -1;
		t->sport = ports[0];
		t->dport = ports[1];
		return 0;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		__be16 id;

		if (bpf_skb_load_bytes(skb, off, icmp, sizeof(icmp)) < 0)
			return -1;
		__builtin_memcpy(&id, &icmp[4], sizeof(id));
		if (t->proto == IPPROTO_ICMP) {
			if (icmp[0] == KPR_ICMP4_ECHO_REQUEST)
				*icmp_kind = KPR_ICMP_ECHO_REQUEST;
			else if (icmp[0] == KPR_ICMP4_ECHO_REPLY)
				*icmp_kind = KPR_ICMP_ECHO_REPLY;
			else if (icmp[0] == KPR_ICMP4_DEST_UNREACH ||
				 icmp[0] == KPR_ICMP4_TIME_EXCEEDED ||
				 icmp[0] == KPR_ICMP4_PARAMETER_PROBLEM)
				*icmp_kind = KPR_ICMP_ERROR;
		} else {
			if (icmp[0] == KPR_ICMP6_ECHO_REQUEST)
				*icmp_kind = KPR_ICMP_ECHO_REQUEST;
			else if (icmp[0] == KPR_ICMP6_ECHO_REPLY)
				*icmp_kind = KPR_ICMP_ECHO_REPLY;
			else if (icmp[0] >= KPR_ICMP6_DEST_UNREACH &&
				 icmp[0] <= KPR_ICMP6_PARAMETER_PROBLEM)
				*icmp_kind = KPR_ICMP_ERROR;
			else if (icmp[0] >= KPR_ICMP6_ROUTER_SOLICITATION &&
				 icmp[0] <= KPR_ICMP6_REDIRECT) /* RS, RA, NS, NA, redirect */
				*icmp_kind = KPR_ICMP_NEIGHBOUR;
		}
		if (*icmp_kind == KPR_ICMP_ECHO_REQUEST)
			t->sport = id;
		else if (*icmp_kind == KPR_ICMP_ECHO_REPLY)
			t->dport = id;
		return 0;
	}
	}
	return 0; /* another protocol: no ports */
}

static __always_inline int kpr_transport_header_fits(struct __sk_buff *skb, __u32 off, __u8 proto)
{
	__u8 header[20];

	switch (proto) {
	case IPPROTO_TCP:
		return bpf_skb_load_bytes(skb, off, header, 20) == 0;
	case IPPROTO_SCTP:
		return bpf_skb_load_bytes(skb, off, header, 12) == 0;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return bpf_skb_load_bytes(skb, off, header, 8) == 0;
	}
	return 1;
}

/* The header an ICMP error embeds (at off): the packet it is about, as that
 * packet carried it. Only its first header and 8 bytes of transport are
 * guaranteed, so an embedded IPv6 packet with extension headers, or an
 * embedded non-first fragment, is left unread: the error is then not
 * related to any connection. */
static __always_inline void kpr_read_embedded(struct __sk_buff *skb, __u32 off,
					      struct kpr_packet *p)
{
	__u8 kind;

	__builtin_memset(&p->inner, 0, sizeof(p->inner));
	p->inner.family = p->tuple.family;
	if (p->tuple.family == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0 || ip.ihl < 5 ||
		    (bpf_ntohs(ip.frag_off) & KPR_IPV4_FRAG_OFFSET))
			return;
		p->inner.saddr[0] = ip.saddr;
		p->inner.daddr[0] = ip.daddr;
		p->inner.proto = ip.protocol;
		off += ip.ihl * 4;
	} else {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) < 0)
			return;
		__builtin_memcpy(p->inner.saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->inner.daddr, &ip6.daddr, 16);
		p->inner.proto = ip6.nexthdr;
		off += sizeof(ip6);
	}
	if (p->inner.proto != IPPROTO_TCP && p->inner.proto != IPPROTO_UDP &&
	    p->inner.proto != IPPROTO_SCTP && p->inner.proto != IPPROTO_ICMP &&
	    p->inner.proto != IPPROTO_ICMPV6)
		return;
	if (kpr_read_ports(skb, off, &p->inner, &kind) == 0)
		p->has_inner = 1;
}

/* The transport part, from off; returns KPR_PARSED or a drop reason. */
static __always_inline int kpr_parse_transport(struct __sk_buff *skb, __u32 off,
					       struct kpr_packet *p)
{
	if (!kpr_transport_header_fits(skb, off, p->tuple.proto))
		return KPR_DROP_TRUNCATED_TRANSPORT;
	p->l4_off = off;
	if (kpr_read_ports(skb, off, &p->tuple, &p->icmp_kind) < 0)
		return KPR_DROP_TRUNCATED_TRANSPORT;
	switch (p->tuple.proto) {
	case IPPROTO_TCP:
		if (bpf_skb_load_bytes(skb, off + 13, &p->tcp_flags, 1) < 0)
			return KPR_DROP_TRUNCATED_TRANSPORT;
		/* fallthrough */
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		p->ports_known = 1;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (p->icmp_kind == KPR_ICMP_ERROR)
			kpr_read_embedded(skb, off + 8, p);
		break;
	}
	return KPR_PARSED;
}

#ifdef KPR_HAVE_IPV4
static __always_inline int kpr_parse_ipv4(struct __sk_buff *skb, struct kpr_packet *p)
{
	struct iphdr ip;
	__u32 header_length;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return KPR_DROP_TRUNCATED_IPV4;
	if (ip.version != 4 || ip.ihl < 5)
		return KPR_DROP_INVALID_IPV4_HEADER;
	header_length = ip.ihl * 4;
	if (skb->len < ETH_HLEN + header_length)
		return KPR_DROP_TRUNCATED_IPV4;
	p->tuple.family = 4;
	p->tuple.proto = ip.protocol;
	p->tuple.saddr[0] = ip.saddr;
	p->tuple.daddr[0] = ip.daddr;
	if (bpf_ntohs(ip.frag_off) & KPR_IPV4_FRAG_OFFSET)
		return KPR_PARSED; /* a non-first fragment: no transport header */
	return kpr_parse_transport(skb, ETH_HLEN + header_length, p);
}
#endif

#ifdef KPR_HAVE_IPV6
static __always_inline int kpr_parse_ipv6(struct __sk_buff *skb, struct kpr_packet *p)
{
	struct ipv6hdr ip6;
	__u32 off = ETH_HLEN + sizeof(ip6);
	__u8 next;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
		return KPR_DROP_TRUNCATED_IPV6;
	p->tuple.family = 6;
	__builtin_memcpy(p->tuple.saddr, &ip6.saddr, 16);
	__builtin_memcpy(p->tuple.daddr, &ip6.daddr, 16);
	next = ip6.nexthdr;
	for (int i = 0; i <= KPR_IPV6_MAX_EXTENSIONS; i++) {
		__u8 ext[8];

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			p->tuple.proto = next;
			return kpr_parse_transport(skb, off, p);
		}
		if (i == KPR_IPV6_MAX_EXTENSIONS)
			break;
		if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)) < 0)
			return KPR_DROP_TRUNCATED_IPV6_EXTENSION;
		if (next == IPPROTO_FRAGMENT) {
			__be16 frag;

			__builtin_memcpy(&frag, &ext[2], sizeof(frag));
			if (bpf_ntohs(frag) & KPR_IPV6_FRAG_OFFSET) {
				p->tuple.proto = ext[0];
				return KPR_PARSED; /* a non-first fragment */
			}
			off += 8;
		} else if (next == IPPROTO_AH) {
			off += (ext[1] + 2) * 4;
		} else {
			off += (ext[1] + 1) * 8;
		}
		next = ext[0];
	}
	return KPR_DROP_IPV6_EXTENSION_CHAIN_TOO_LONG;
}
#endif

/* KPR_PARSED, KPR_NOT_IP, or a drop reason. A global function: the
 * verifier checks it once, and its stack is not added to its callers'. */
__attribute__((noinline)) int kpr_parse(struct __sk_buff *skb, struct kpr_packet *p)
{
	struct ethhdr eth;

	if (!p) /* never: the verifier asks a global function to check */
		return KPR_DROP_TRUNCATED_ETHERNET;

	__builtin_memset(p, 0, sizeof(*p));
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return KPR_DROP_TRUNCATED_ETHERNET;
	switch (eth.h_proto) {
	case bpf_htons(ETH_P_IP):
#ifdef KPR_HAVE_IPV4
		return kpr_parse_ipv4(skb, p);
#else
		return KPR_DROP_FAMILY_NOT_ENABLED;
#endif
	case bpf_htons(ETH_P_IPV6):
#ifdef KPR_HAVE_IPV6
		return kpr_parse_ipv6(skb, p);
#else
		return KPR_DROP_FAMILY_NOT_ENABLED;
#endif
	}
	return KPR_NOT_IP;
}
