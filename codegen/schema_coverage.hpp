// What a schema asks for that this kpr-gen validates but has no data path
// for yet (node TC programs, session affinity, Maglev, the identity
// section, the baseline policy; conntrack and the TC maps' capacities
// without pod TC programs): nothing is emitted for them, and kpr-gen says
// so rather than let a schema look more enforced than it is.
#pragma once

#include <string>
#include <vector>

#include "kpr/schema/cluster_schema.hpp"

namespace kpr::codegen {

// One line per request, naming its field; empty when everything asked for
// is built.
std::vector<std::string> unbuilt_requests(const schema::ClusterSchema& schema);

} // namespace kpr::codegen
