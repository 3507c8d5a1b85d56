/* SPDX-License-Identifier: GPL-2.0 */
/* IPv4 Service lookup: frontend (VIP, port, protocol) -> a usable backend,
 * in two hash lookups and one backend lookup whatever the cluster's size. */
#pragma once

#include "lib/lb.h"

struct kpr_lb4_choice {
	__be32 address;
	__be16 port;
	__u16 rev_nat_id;
};

static __always_inline const struct kpr_service_value *
kpr_lb4_frontend(__be32 address, __be16 port, __u8 proto)
{
	struct kpr_service4_key key = { .address = address, .port = port, .proto = proto };

	return bpf_map_lookup_elem(&kpr_svc4, &key);
}

/* The backend with this id into choice; false when it is gone. */
static __always_inline bool kpr_lb4_backend(__u32 backend_id, struct kpr_lb4_choice *choice)
{
	struct kpr_backend_key key = { .backend_id = backend_id };
	const struct kpr_backend4 *backend = bpf_map_lookup_elem(&kpr_backend4, &key);

	if (!backend)
		return false;
	choice->address = backend->address;
	choice->port = backend->port;
	return true;
}

/* A backend for the frontend: the client's remembered one under ClientIP
 * affinity while it is valid, else a slot drawn at random (and remembered
 * under affinity). */
static __always_inline enum kpr_lb_result
kpr_lb4_pick(__be32 address, __be16 port, __u8 proto, const struct kpr_lb_client *client,
	     struct kpr_lb4_choice *choice)
{
	struct kpr_service4_key key = { .address = address, .port = port, .proto = proto };
	const struct kpr_service_value *frontend, *slot;
	bool affinity;
	__u32 sticky;
	__u64 now;

	frontend = bpf_map_lookup_elem(&kpr_svc4, &key);
	if (!frontend)
		return KPR_LB_NOT_A_SERVICE;
	if (frontend->count == 0)
		return KPR_LB_NO_BACKEND;
	choice->rev_nat_id = frontend->rev_nat_id;
	affinity = frontend->flags & KPR_SVC_AFFINITY;
	now = affinity ? bpf_ktime_get_ns() : 0;
	if (affinity) {
		sticky = kpr_affinity_client_backend(client, 4, frontend->rev_nat_id,
						     frontend->affinity_seconds, now);
		if (sticky && kpr_lb4_backend(sticky, choice)) {
			kpr_affinity_client_record(client, 4, frontend->rev_nat_id, sticky, now);
			return KPR_LB_BACKEND;
		}
	}
	key.backend_slot = kpr_lb_random_slot(frontend->count);
	slot = bpf_map_lookup_elem(&kpr_svc4, &key);
	if (!slot || !kpr_lb4_backend(slot->backend_id, choice))
		return KPR_LB_NO_BACKEND;
	if (affinity)
		kpr_affinity_client_record(client, 4, choice->rev_nat_id, slot->backend_id, now);
	return KPR_LB_BACKEND;
}
