/* SPDX-License-Identifier: GPL-2.0 */
/* The socket-layer Service load balancer: one thin program per cgroup
 * sock_addr hook, the logic in lib/. kpr-gen fills the @kpr:slot lines with
 * the cluster's map layouts and map definitions, and keeps an @kpr:if block
 * only when the cluster schema enables every feature it names (and none it
 * names with a '!'). */

#include "lib/common.h"

/* @kpr:slot layouts */

/* @kpr:slot maps */

/* @kpr:slot constants */

/* @kpr:if sessionAffinity */
#define KPR_HAVE_SESSION_AFFINITY 1
/* @kpr:endif */
#include "lib/affinity.h"
/* @kpr:if bind */
#include "lib/sock_bind.h"
/* @kpr:endif */
/* @kpr:if ipv4 */
#include "lib/sock4.h"
/* @kpr:endif */
/* @kpr:if ipv6 ipv4 */
#include "lib/sock6_mapped.h"
/* @kpr:endif */
/* @kpr:if ipv6 !ipv4 */
#include "lib/sock6_unmapped.h"
/* @kpr:endif */
/* @kpr:if ipv6 */
#include "lib/sock6.h"
/* @kpr:endif */

/* @kpr:if ipv4 connect */
SEC("cgroup/connect4")
int kpr_connect4(struct bpf_sock_addr *ctx)
{
	return kpr_sock4_to_backend(ctx);
}
/* @kpr:endif */

/* @kpr:if ipv4 sendmsg */
SEC("cgroup/sendmsg4")
int kpr_sendmsg4(struct bpf_sock_addr *ctx)
{
	return kpr_sock4_to_backend(ctx);
}
/* @kpr:endif */

/* @kpr:if ipv4 recvmsg */
SEC("cgroup/recvmsg4")
int kpr_recvmsg4(struct bpf_sock_addr *ctx)
{
	return kpr_sock4_to_service(ctx);
}
/* @kpr:endif */

/* @kpr:if ipv4 getpeername */
SEC("cgroup/getpeername4")
int kpr_getpeername4(struct bpf_sock_addr *ctx)
{
	return kpr_sock4_to_service(ctx);
}
/* @kpr:endif */

/* @kpr:if ipv6 connect */
SEC("cgroup/connect6")
int kpr_connect6(struct bpf_sock_addr *ctx)
{
	return kpr_sock6_to_backend(ctx);
}
/* @kpr:endif */

/* @kpr:if ipv6 sendmsg */
SEC("cgroup/sendmsg6")
int kpr_sendmsg6(struct bpf_sock_addr *ctx)
{
	return kpr_sock6_to_backend(ctx);
}
/* @kpr:endif */

/* @kpr:if ipv6 recvmsg */
SEC("cgroup/recvmsg6")
int kpr_recvmsg6(struct bpf_sock_addr *ctx)
{
	return kpr_sock6_to_service(ctx);
}
/* @kpr:endif */

/* @kpr:if ipv6 getpeername */
SEC("cgroup/getpeername6")
int kpr_getpeername6(struct bpf_sock_addr *ctx)
{
	return kpr_sock6_to_service(ctx);
}
/* @kpr:endif */

/* Both bind hooks whatever the families: an IPv6 socket bound to [::]
 * holds the IPv4 port too. */
/* @kpr:if bind */
SEC("cgroup/bind4")
int kpr_bind4(struct bpf_sock_addr *ctx)
{
	return kpr_sock_bind(ctx);
}

SEC("cgroup/bind6")
int kpr_bind6(struct bpf_sock_addr *ctx)
{
	return kpr_sock_bind(ctx);
}
/* @kpr:endif */

char LICENSE[] SEC("license") = "GPL";
