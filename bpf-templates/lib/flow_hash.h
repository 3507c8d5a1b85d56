/* SPDX-License-Identifier: GPL-2.0 */
/* A flow's hash: 64-bit FNV-1a (as include/kpr/fnv1a.hpp) over its source
 * address, destination address, source port, destination port and
 * protocol in network byte order (4-byte addresses for IPv4, 16 for IPv6).
 * It depends on nothing but the tuple, so every node picks the same Maglev
 * slot for a flow, and the tests compute it with kpr::fnv1a64. */
#pragma once

#define KPR_FNV1A64_OFFSET 0xcbf29ce484222325ULL
#define KPR_FNV1A64_PRIME 0x100000001b3ULL

static __always_inline __u64 kpr_fnv1a64_bytes(__u64 hash, const __u8 *bytes, int length)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (i >= length)
			break;
		hash ^= bytes[i];
		hash *= KPR_FNV1A64_PRIME;
	}
	return hash;
}

static __always_inline __u64 kpr_flow_hash(const struct kpr_tuple *t)
{
	int address_length = t->family == 4 ? 4 : 16;
	__u64 hash = KPR_FNV1A64_OFFSET;

	hash = kpr_fnv1a64_bytes(hash, (const __u8 *)t->saddr, address_length);
	hash = kpr_fnv1a64_bytes(hash, (const __u8 *)t->daddr, address_length);
	hash = kpr_fnv1a64_bytes(hash, (const __u8 *)&t->sport, 2);
	hash = kpr_fnv1a64_bytes(hash, (const __u8 *)&t->dport, 2);
	return kpr_fnv1a64_bytes(hash, &t->proto, 1);
}
