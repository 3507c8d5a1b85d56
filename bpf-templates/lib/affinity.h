/* SPDX-License-Identifier: GPL-2.0 */
/* ClientIP session affinity (features.sessionAffinity): which backend a
 * client last reached through a frontend, and when, in kpr_affinity. A
 * remembered backend is used again while the entry is younger than the
 * frontend's timeout, counted from its last use as kube-proxy's `recent`
 * match counts, and while the backend still exists; each use refreshes it.
 * The socket hooks know a client by its network namespace's cookie (a pod
 * is one client address), the TC path by its address. */
#pragma once

#include "lib/lb.h"

#define KPR_NS_PER_SECOND 1000000000ULL

/* A socket's client: its network namespace (the pod). */
static __always_inline __u64 kpr_affinity_socket_client(void *ctx)
{
	return bpf_get_netns_cookie(ctx);
}

static __always_inline void kpr_affinity_key_of(struct kpr_affinity_key *key,
						const struct kpr_lb_client *client, __u8 family,
						__u16 rev_nat_id)
{
	key->client_cookie = client->cookie;
	key->client_address[0] = client->address[0];
	key->client_address[1] = client->address[1];
	key->client_address[2] = client->address[2];
	key->client_address[3] = client->address[3];
	key->rev_nat_id = rev_nat_id;
	key->family = family;
}

/* The backend id remembered for the client, or 0 when there is none or it
 * has expired. */
static __always_inline __u32 kpr_affinity_backend(const struct kpr_lb_client *client, __u8 family,
						  __u16 rev_nat_id, __u32 timeout_seconds, __u64 now)
{
	struct kpr_affinity_key key = {};
	const struct kpr_affinity_value *known;

	kpr_affinity_key_of(&key, client, family, rev_nat_id);
	known = bpf_map_lookup_elem(&kpr_affinity, &key);
	if (!known || now - known->last_used_ns >= (__u64)timeout_seconds * KPR_NS_PER_SECOND)
		return 0;
	return known->backend_id;
}

static __always_inline void kpr_affinity_remember(const struct kpr_lb_client *client, __u8 family,
						  __u16 rev_nat_id, __u32 backend_id, __u64 now)
{
	struct kpr_affinity_key key = {};
	struct kpr_affinity_value value = { .last_used_ns = now, .backend_id = backend_id };

	kpr_affinity_key_of(&key, client, family, rev_nat_id);
	bpf_map_update_elem(&kpr_affinity, &key, &value, BPF_ANY);
}
