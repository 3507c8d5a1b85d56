/* SPDX-License-Identifier: GPL-2.0 */
/* What every kpr BPF program includes: the kernel's UAPI types, libbpf's
 * helper declarations, and the verdicts the cgroup socket hooks return. */
#pragma once

#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/in.h>
#include <linux/types.h>
#include <stdbool.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* A cgroup sock_addr program lets the call proceed with 1 and fails it with
 * 0; bpf_set_retval() chooses the errno the caller then sees. */
#define KPR_SOCK_PROCEED 1
#define KPR_SOCK_FAIL 0
