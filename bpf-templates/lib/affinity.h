/* SPDX-License-Identifier: GPL-2.0 */
/* ClientIP session affinity (kpr_affinity, one map for both families and
 * both paths; layout: include/kpr/layout/affinity.hpp): which backend a
 * client last reached through a frontend, and when. An entry is followed
 * while younger than the frontend's affinity_seconds, counted from its last
 * use as kube-proxy's `recent` match counts, and while its backend still
 * exists (the callers check); each use renews it. A client is a socket's
 * network namespace on the socket path (cookie, address zero) and the
 * source address on the external path (cookie 0). Without
 * features.sessionAffinity there is no map: nothing is remembered and every
 * connection draws its backend. */
#pragma once

#include "lib/lb.h"

#define KPR_NS_PER_SECOND 1000000000ULL

#ifdef KPR_HAVE_SESSION_AFFINITY
static __always_inline void kpr_affinity_key_of(struct kpr_affinity_key *key,
						const struct kpr_lb_client *client, __u8 family,
						__u16 rev_nat_id)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->client_cookie = client->cookie;
	__builtin_memcpy(key->client_address, client->address, sizeof(key->client_address));
	key->rev_nat_id = rev_nat_id;
	key->family = family;
}
#endif

/* The backend id remembered for the client (family 4 or 6), or 0 when
 * there is none or it has expired. */
static __always_inline __u32 kpr_affinity_client_backend(const struct kpr_lb_client *client,
							 __u8 family, __u16 rev_nat_id,
							 __u32 timeout_seconds, __u64 now)
{
#ifdef KPR_HAVE_SESSION_AFFINITY
	struct kpr_affinity_key key;
	const struct kpr_affinity_value *known;

	kpr_affinity_key_of(&key, client, family, rev_nat_id);
	known = bpf_map_lookup_elem(&kpr_affinity, &key);
	if (known && now - known->last_used_ns < (__u64)timeout_seconds * KPR_NS_PER_SECOND)
		return known->backend_id;
#endif
	return 0;
}

static __always_inline void kpr_affinity_client_record(const struct kpr_lb_client *client,
						       __u8 family, __u16 rev_nat_id,
						       __u32 backend_id, __u64 now)
{
#ifdef KPR_HAVE_SESSION_AFFINITY
	struct kpr_affinity_key key;
	struct kpr_affinity_value value = { .last_used_ns = now, .backend_id = backend_id };

	kpr_affinity_key_of(&key, client, family, rev_nat_id);
	bpf_map_update_elem(&kpr_affinity, &key, &value, BPF_ANY);
#endif
}

/* A socket's client: its network namespace (a pod); no lookup when nothing
 * is remembered. */
static __always_inline __u64 kpr_affinity_socket_client(void *ctx)
{
#ifdef KPR_HAVE_SESSION_AFFINITY
	return bpf_get_netns_cookie(ctx);
#else
	return 0;
#endif
}

#ifdef KPR_HAVE_NODE_INGRESS
/* The external path's client: the packet's source address. */
static __always_inline void kpr_affinity_tuple_client(struct kpr_lb_client *client,
						      const struct kpr_tuple *t)
{
	client->cookie = 0;
	__builtin_memcpy(client->address, t->saddr, sizeof(client->address));
}

/* The backend the packet's client used last for the frontend, or 0. */
static __always_inline __u32 kpr_affinity_backend(const struct kpr_service_value *frontend,
						  const struct kpr_tuple *t)
{
	struct kpr_lb_client client;

	kpr_affinity_tuple_client(&client, t);
	return kpr_affinity_client_backend(&client, t->family, frontend->rev_nat_id,
					   frontend->affinity_seconds, bpf_ktime_get_ns());
}

static __always_inline void kpr_affinity_record(const struct kpr_service_value *frontend,
						const struct kpr_tuple *t, __u32 backend_id)
{
	struct kpr_lb_client client;

	kpr_affinity_tuple_client(&client, t);
	kpr_affinity_client_record(&client, t->family, frontend->rev_nat_id, backend_id,
				   bpf_ktime_get_ns());
}
#endif
