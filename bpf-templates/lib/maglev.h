/* SPDX-License-Identifier: GPL-2.0 */
/* Maglev backend choice for the external path: the flow's hash picks a slot
 * of the frontend's table in kpr_maglev (filled by the agent from
 * include/kpr/sync/maglev_table.hpp), which names the backend. 0 when the
 * slot is empty (the table is being written): the caller then picks at
 * random. */
#pragma once

#include "lib/flow_hash.h"

static __always_inline __u32 kpr_maglev_backend(const struct kpr_service_value *frontend,
						const struct kpr_tuple *t)
{
#ifdef KPR_HAVE_MAGLEV
	struct kpr_maglev_value *slot;
	__u32 index;

	index = frontend->maglev_table * KPR_MAGLEV_TABLE_SIZE +
		(__u32)(kpr_flow_hash(t) % KPR_MAGLEV_TABLE_SIZE);
	slot = bpf_map_lookup_elem(&kpr_maglev, &index);
	return slot ? slot->backend_id : 0;
#else
	return 0;
#endif
}
