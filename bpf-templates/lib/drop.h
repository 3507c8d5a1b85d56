/* SPDX-License-Identifier: GPL-2.0 */
/* Dropping a packet: count it under its reason (enum kpr_drop_reason,
 * emitted from include/kpr/layout/drop_reason.hpp) in the per-CPU array
 * kpr_drops, then tell TC to discard it. */
#pragma once

static __always_inline int kpr_drop(__u32 reason)
{
	struct kpr_drop_key key = {.reason = reason};
	struct kpr_drop_count *count = bpf_map_lookup_elem(&kpr_drops, &key);

	if (count)
		count->packets++; /* this CPU's slot: no other writer */
	return TC_ACT_SHOT;
}
