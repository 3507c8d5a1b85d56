// A map's layout fingerprint: the hash of its kind and of every key and
// value field's name, C type, offset and size, in a canonical text. Two
// builds agree on a map's hash exactly when a value written by one reads
// the same in the other. kpr-gen records it in the manifest; kpr-agent
// computes its own from the layouts compiled into it.
#pragma once

#include <string>
#include <type_traits>

#include <fmt/format.h>

#include "kpr/layout/maps.hpp"
#include "kpr/manifest/content_hash.hpp"

namespace kpr::manifest {

inline std::string canonical_layout_text(const layout::LayoutDescription& d) {
    std::string out = fmt::format("struct {} size {}\n", d.c_name, d.size);
    for (const auto& f : d.fields)
        out += fmt::format("  {} {}[{}] @{} {}\n", f.name, f.c_type, f.extent, f.offset, f.size);
    return out;
}

inline std::string map_layout_hash(layout::MapType type, const layout::LayoutDescription& key,
                                   const layout::LayoutDescription& value) {
    return content_hash(fmt::format("{}\nkey {}value {}", layout::c_map_type(type),
                                    canonical_layout_text(key), canonical_layout_text(value)));
}

template <class Spec> std::string map_layout_hash(const Spec& spec) {
    return map_layout_hash(spec.type, layout::describe<typename Spec::key_type>(),
                           layout::describe<typename Spec::value_type>());
}

} // namespace kpr::manifest
