/* SPDX-License-Identifier: GPL-2.0 */
/* What the TC programs share: the kernel headers they parse with, TC's
 * verdicts, and the packet as the parser leaves it (struct kpr_packet). */
#pragma once

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

/* ICMP and ICMPv6 types (linux/icmp.h would pull in the C library's
 * socket headers). */
#define KPR_ICMP4_ECHO_REPLY 0
#define KPR_ICMP4_DEST_UNREACH 3
#define KPR_ICMP4_ECHO_REQUEST 8
#define KPR_ICMP4_TIME_EXCEEDED 11
#define KPR_ICMP4_PARAMETER_PROBLEM 12
#define KPR_ICMP6_DEST_UNREACH 1
#define KPR_ICMP6_PARAMETER_PROBLEM 4
#define KPR_ICMP6_ECHO_REQUEST 128
#define KPR_ICMP6_ECHO_REPLY 129
#define KPR_ICMP6_ROUTER_SOLICITATION 133
#define KPR_ICMP6_REDIRECT 137

#define KPR_INGRESS 0 /* policy direction: into the pod behind the program */
#define KPR_EGRESS 1  /* out of it */

/* A connection's addresses, ports and protocol; IPv4 in saddr[0]/daddr[0]. */
struct kpr_tuple {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport; /* ICMP echo request: the identifier */
	__be16 dport; /* ICMP echo reply: the identifier */
	__u8 proto;
	__u8 family; /* 4 or 6 */
	__u8 pad[2];
};

#define KPR_ICMP_OTHER 0
#define KPR_ICMP_ECHO_REQUEST 1
#define KPR_ICMP_ECHO_REPLY 2
#define KPR_ICMP_ERROR 3      /* carries the header of the packet it is about */
#define KPR_ICMP_NEIGHBOUR 4  /* IPv6 router and neighbour discovery */

struct kpr_packet {
	struct kpr_tuple tuple;
	/* 0 when the destination port is unknown: non-first fragments and
	 * protocols without ports (policy then matches only rules that allow
	 * every port of the protocol). */
	__u8 ports_known;
	__u8 icmp_kind; /* KPR_ICMP_* for ICMP and ICMPv6, else KPR_ICMP_OTHER */
	__u8 tcp_flags; /* TCP: the flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10) */
	__u8 has_inner; /* an ICMP error whose embedded header was read */
	struct kpr_tuple inner; /* that embedded header, as its packet carried it */
	__u32 l4_off; /* where the transport header starts (valid when ports_known) */
};

#define KPR_TCP_FIN 0x01
#define KPR_TCP_SYN 0x02
#define KPR_TCP_RST 0x04
#define KPR_TCP_ACK 0x10

static __always_inline void kpr_tuple_swap(struct kpr_tuple *out, const struct kpr_tuple *in)
{
	*out = *in;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		out->saddr[i] = in->daddr[i];
		out->daddr[i] = in->saddr[i];
	}
	out->sport = in->dport;
	out->dport = in->sport;
}
