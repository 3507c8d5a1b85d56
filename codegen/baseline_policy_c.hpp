// Emits the schema's static baseline policy as unrolled C for the TC
// programs' `baseline` slot: kpr_baseline_ingress() and kpr_baseline_egress(),
// each a chain of the direction's rules in evaluation order (priority, then
// document order) whose first match decides — Allow or Deny — or hands the
// packet to NetworkPolicy (Pass, or no rule matching). Reserved peers compare
// identity numbers fixed by the schema, CIDR peers the address with constant
// masks, ports constants; label subjects and peers test one bit each of the
// local and peer identities' kpr_idmatch entries, fetched once per function.
#pragma once

#include <string>

#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

// The C the TC programs' `baseline` slot is filled with. It needs struct
// kpr_policy_subject and the KPR_BASELINE_* verdicts (lib/policy.h) and,
// when a rule uses a label match, the kpr_idmatch map and its structs.
std::string emit_baseline_policy_c(const schema::ClusterSchema& schema);

// Whether the emitted rules read kpr_idmatch (some rule uses a label match).
bool baseline_uses_idmatch(const schema::ClusterSchema& schema);

} // namespace kpr::codegen
