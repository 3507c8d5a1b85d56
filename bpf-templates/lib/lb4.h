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

static __always_inline enum kpr_lb_result
kpr_lb4_pick(__be32 address, __be16 port, __u8 proto, struct kpr_lb4_choice *choice)
{
	struct kpr_service4_key key = { .address = address, .port = port, .proto = proto };
	const struct kpr_service_value *frontend, *slot;
	const struct kpr_backend4 *backend;
	struct kpr_backend_key backend_key;

	frontend = bpf_map_lookup_elem(&kpr_svc4, &key);
	if (!frontend)
		return KPR_LB_NOT_A_SERVICE;
	if (frontend->count == 0)
		return KPR_LB_NO_BACKEND;
	key.backend_slot = kpr_lb_random_slot(frontend->count);
	slot = bpf_map_lookup_elem(&kpr_svc4, &key);
	if (!slot)
		return KPR_LB_NO_BACKEND;
	backend_key.backend_id = slot->backend_id;
	backend = bpf_map_lookup_elem(&kpr_backend4, &backend_key);
	if (!backend)
		return KPR_LB_NO_BACKEND;
	choice->address = backend->address;
	choice->port = backend->port;
	choice->rev_nat_id = frontend->rev_nat_id;
	return KPR_LB_BACKEND;
}
