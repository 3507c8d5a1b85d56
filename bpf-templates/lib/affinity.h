/* SPDX-License-Identifier: GPL-2.0 */
/* ClientIP session affinity on the external path (kpr_affinity, shared
 * with the socket object; layout: include/kpr/layout/affinity.hpp): keyed
 * by the client's address and the frontend (cookie 0). An entry is used
 * while younger than the frontend's affinity_seconds and while its backend
 * still exists; the choice made is recorded with the time. */
#pragma once

#ifdef KPR_HAVE_SESSION_AFFINITY
static __always_inline void kpr_affinity_key_of(struct kpr_affinity_key *k,
						const struct kpr_tuple *t, __u16 rev_nat_id)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->client_address, t->saddr, 16);
	k->rev_nat_id = rev_nat_id;
	k->family = t->family;
}
#endif

/* The backend the client used last for the frontend, or 0. */
static __always_inline __u32 kpr_affinity_backend(const struct kpr_service_value *frontend,
						  const struct kpr_tuple *t)
{
#ifdef KPR_HAVE_SESSION_AFFINITY
	struct kpr_affinity_key k;
	struct kpr_affinity_value *v;

	kpr_affinity_key_of(&k, t, frontend->rev_nat_id);
	v = bpf_map_lookup_elem(&kpr_affinity, &k);
	if (v && bpf_ktime_get_ns() - v->last_used_ns <
			 (__u64)frontend->affinity_seconds * 1000000000ULL)
		return v->backend_id;
#endif
	return 0;
}

static __always_inline void kpr_affinity_record(const struct kpr_service_value *frontend,
						const struct kpr_tuple *t, __u32 backend_id)
{
#ifdef KPR_HAVE_SESSION_AFFINITY
	struct kpr_affinity_key k;
	struct kpr_affinity_value v = {.last_used_ns = bpf_ktime_get_ns(),
				       .backend_id = backend_id};

	kpr_affinity_key_of(&k, t, frontend->rev_nat_id);
	bpf_map_update_elem(&kpr_affinity, &k, &v, BPF_ANY);
#endif
}
