/* SPDX-License-Identifier: GPL-2.0 */
/* The TC programs: policy by identity, connection tracking and delivery to
 * local pods, on the clsact hooks of each pod's host-side veth (the
 * endpoint id is that veth's ifindex), and the external path for NodePort,
 * LoadBalancer and ExternalIP traffic on the clsact ingress of the node's
 * external interfaces (docs/datapath-nodeport.md). The logic is in lib/; kpr-gen
 * fills the @kpr:slot lines (layouts, maps, generated constants, the
 * baseline rules) and keeps each @kpr:if block only when the schema enables
 * what it names. docs/datapath-tc.md describes the verdicts. */

#include "lib/common.h"
#include "lib/tc.h"

/* @kpr:if ipv4 */
#define KPR_HAVE_IPV4 1
/* @kpr:endif */
/* @kpr:if ipv6 */
#define KPR_HAVE_IPV6 1
/* @kpr:endif */
/* @kpr:if podIngress */
#define KPR_HAVE_POD_INGRESS 1
/* @kpr:endif */
/* @kpr:if podEgress */
#define KPR_HAVE_POD_EGRESS 1
/* @kpr:endif */
/* @kpr:if nodeIngress */
#define KPR_HAVE_NODE_INGRESS 1
/* @kpr:endif */
/* @kpr:if maglev */
#define KPR_HAVE_MAGLEV 1
/* @kpr:endif */
/* @kpr:if sessionAffinity */
#define KPR_HAVE_SESSION_AFFINITY 1
/* @kpr:endif */

/* @kpr:slot layouts */

/* @kpr:slot maps */

/* @kpr:slot constants */

#include "lib/drop.h"
#include "lib/parse.h"
#include "lib/ipcache.h"
#include "lib/conntrack.h"
#include "lib/policy_subject.h"

/* @kpr:slot baseline */

#include "lib/policy.h"
#include "lib/enforce.h"
/* @kpr:if nodeIngress */
#include "lib/nodeport.h"
/* @kpr:endif */
#include "lib/deliver.h"

/* The packet leaves the pod: its egress policy, then, for a pod of this
 * node, that pod's ingress policy and delivery straight into it. */
SEC("tc")
int kpr_from_pod(struct __sk_buff *skb)
{
	return kpr_from_pod_path(skb);
}

/* @kpr:if podIngress */
/* The packet enters the pod through the node's stack: its ingress policy. */
SEC("tc")
int kpr_to_pod(struct __sk_buff *skb)
{
	return kpr_to_pod_path(skb);
}
/* @kpr:endif */

/* @kpr:if nodeIngress */
/* A packet arrives on an external interface: NodePort, LoadBalancer and
 * ExternalIP traffic is translated and sent on; the rest is the node's. */
SEC("tc")
int kpr_from_netdev(struct __sk_buff *skb)
{
	return kpr_from_netdev_path(skb);
}
/* @kpr:endif */

char LICENSE[] SEC("license") = "GPL";
