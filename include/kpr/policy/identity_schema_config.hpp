// The policy compiler's identity configuration (identity.hpp) from the
// cluster schema's identity section: the label keys that count, the
// reserved numbers and the label range, so the agent numbers identities
// exactly as the build that generated its data path expects. Reserved
// identities the schema leaves out take the compiler's defaults; the CIDR
// range is the compiler's (the schema does not name it).
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/policy/identity.hpp"
#include "kpr/schema/identity_schema.hpp"

namespace kpr::policy {

inline IdentityConfig identity_config(const schema::IdentitySchema& s) {
    IdentityConfig config;
    config.pod_label_keys = label_key_texts(s.pod_label_keys);
    config.namespace_label_keys = label_key_texts(s.namespace_label_keys);
    config.excluded_label_keys = label_key_texts(s.excluded_label_keys);
    using Kind = schema::ReservedIdentityKind;
    ReservedIdentities& r = config.reserved;
    r.host = s.number_of(Kind::host).value_or(r.host);
    r.world = s.number_of(Kind::world).value_or(r.world);
    r.unmanaged = s.number_of(Kind::unmanaged).value_or(r.unmanaged);
    r.remote_node = s.number_of(Kind::remoteNode).value_or(r.remote_node);
    config.label_range.first = s.first_allocated;
    return config;
}

// Why the schema's identity section gives no usable configuration, one
// message each naming the fields of spec.identity; empty when it is usable.
inline std::vector<std::string> identity_schema_problems(const schema::IdentitySchema& s) {
    std::vector<std::string> out;
    const IdentityConfig config = identity_config(s);
    using Kind = schema::ReservedIdentityKind;
    const std::pair<Kind, Identity> defaulted[] = {{Kind::unmanaged, config.reserved.unmanaged},
                                                   {Kind::remoteNode, config.reserved.remote_node}};
    for (const auto& [kind, number] : defaulted) {
        if (s.number_of(kind))
            continue;
        for (const auto& listed : s.reserved)
            if (listed.number == number)
                out.push_back(fmt::format(
                    "reserved: {} is not listed, so it takes the default {}, which {} has; give "
                    "{} a number of its own",
                    to_string(kind), number, to_string(listed.kind), to_string(kind)));
    }
    for (const std::string& problem : identity_config_problems(config))
        out.push_back(fmt::format(
            "{} (the label range runs from firstAllocated to {}, the CIDR range is {}-{}; "
            "unlisted reserved identities take unmanaged {}, remoteNode {})",
            problem, config.label_range.last, config.cidr_range.first, config.cidr_range.last,
            IdentityConfig{}.reserved.unmanaged, IdentityConfig{}.reserved.remote_node));
    return out;
}

} // namespace kpr::policy
