/* SPDX-License-Identifier: GPL-2.0 */
/* IPv6 Service lookup: frontend (VIP, port, protocol) -> a usable backend,
 * in two hash lookups and one backend lookup whatever the cluster's size. */
#pragma once

#include "lib/lb.h"

struct kpr_lb6_choice {
	__be32 address[4];
	__be16 port;
	__u16 rev_nat_id;
};

static __always_inline void kpr_ipv6_copy(__be32 dst[4], const __be32 src[4])
{
	dst[0] = src[0];
	dst[1] = src[1];
	dst[2] = src[2];
	dst[3] = src[3];
}

static __always_inline const struct kpr_service_value *
kpr_lb6_frontend(const __be32 address[4], __be16 port, __u8 proto)
{
	struct kpr_service6_key key = { .port = port, .proto = proto };

	kpr_ipv6_copy(key.address, address);
	return bpf_map_lookup_elem(&kpr_svc6, &key);
}

/* The backend with this id into choice; false when it is gone. */
static __always_inline bool kpr_lb6_backend(__u32 backend_id, struct kpr_lb6_choice *choice)
{
	struct kpr_backend_key key = { .backend_id = backend_id };
	const struct kpr_backend6 *backend = bpf_map_lookup_elem(&kpr_backend6, &key);

	if (!backend)
		return false;
	kpr_ipv6_copy(choice->address, backend->address);
	choice->port = backend->port;
	return true;
}

/* A backend for the frontend: the client's remembered one under ClientIP
 * affinity while it is valid, else a slot drawn at random (and remembered
 * under affinity). */
static __always_inline enum kpr_lb_result
kpr_lb6_pick(const __be32 address[4], __be16 port, __u8 proto, const struct kpr_lb_client *client,
	     struct kpr_lb6_choice *choice)
{
	struct kpr_service6_key key = { .port = port, .proto = proto };
	const struct kpr_service_value *frontend, *slot;
	bool affinity;
	__u32 sticky;
	__u64 now;

	kpr_ipv6_copy(key.address, address);
	frontend = bpf_map_lookup_elem(&kpr_svc6, &key);
	if (!frontend)
		return KPR_LB_NOT_A_SERVICE;
	if (frontend->count == 0)
		return KPR_LB_NO_BACKEND;
	choice->rev_nat_id = frontend->rev_nat_id;
	affinity = frontend->flags & KPR_SVC_AFFINITY;
	now = affinity ? bpf_ktime_get_ns() : 0;
	if (affinity) {
		sticky = kpr_affinity_client_backend(client, 6, frontend->rev_nat_id,
						     frontend->affinity_seconds, now);
		if (sticky && kpr_lb6_backend(sticky, choice)) {
			kpr_affinity_client_record(client, 6, frontend->rev_nat_id, sticky, now);
			return KPR_LB_BACKEND;
		}
	}
	key.backend_slot = kpr_lb_random_slot(frontend->count);
	slot = bpf_map_lookup_elem(&kpr_svc6, &key);
	if (!slot || !kpr_lb6_backend(slot->backend_id, choice))
		return KPR_LB_NO_BACKEND;
	if (affinity)
		kpr_affinity_client_record(client, 6, choice->rev_nat_id, slot->backend_id, now);
	return KPR_LB_BACKEND;
}
