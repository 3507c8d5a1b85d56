/* SPDX-License-Identifier: GPL-2.0 */
/* A syscall program around the unrolled baseline rules, so a test can run
 * them on subjects it writes itself (BPF_PROG_TEST_RUN with ctx_in) and
 * compare each verdict with the C++ reference. The slots are filled as in
 * the TC programs (bpf_lxc.c): the identity-match map's layouts and
 * definition, and the baseline functions. */

#include "lib/common.h"

/* @kpr:slot layouts */

/* @kpr:slot maps */

#include "lib/policy_subject.h"

/* @kpr:slot baseline */

struct kpr_baseline_probe {
	struct kpr_policy_subject subject;
	__u32 egress;
};

SEC("syscall")
int kpr_baseline_probe(struct kpr_baseline_probe *ctx)
{
	struct kpr_policy_subject s = ctx->subject;

	return ctx->egress ? kpr_baseline_egress(&s) : kpr_baseline_ingress(&s);
}

char LICENSE[] SEC("license") = "GPL";
