/* SPDX-License-Identifier: GPL-2.0 */
/* The ipcache: an address's identities by longest-prefix match
 * (kpr_ipcache4/6). An address no entry covers has neither identity (0),
 * which no policy entry but the wildcard peer matches. */
#pragma once

static __always_inline struct kpr_ipcache_value *kpr_ipcache_lookup(__u8 family,
								    const __be32 *address)
{
#ifdef KPR_HAVE_IPV4
	if (family == 4) {
		struct kpr_ipcache4_key key = {.prefix_len = 32, .address = address[0]};

		return bpf_map_lookup_elem(&kpr_ipcache4, &key);
	}
#endif
#ifdef KPR_HAVE_IPV6
	if (family == 6) {
		struct kpr_ipcache6_key key = {.prefix_len = 128};

		__builtin_memcpy(key.address, address, 16);
		return bpf_map_lookup_elem(&kpr_ipcache6, &key);
	}
#endif
	return NULL;
}
