// What kpr-agent checks of a build manifest before it loads the object:
// that the manifest describes this very object (hash), that every map the
// object declares is in the manifest with the same capacity, and that each
// map's layout hash equals the one computed from the layouts compiled into
// this agent. A mismatch names the map and what differs.
#pragma once

#include <bpf/libbpf.h>

#include <string>
#include <vector>

#include <boost/hana/for_each.hpp>
#include <fmt/format.h>

#include "kpr/layout/maps.hpp"
#include "kpr/manifest/build_manifest.hpp"
#include "kpr/manifest/content_hash.hpp"
#include "kpr/manifest/layout_hash.hpp"

namespace kpr::manifest {

// The layout hash this agent has for a map, or "" for a map it does not know.
inline std::string compiled_in_layout_hash(std::string_view map) {
    std::string hash;
    boost::hana::for_each(layout::all_maps, [&](const auto& spec) {
        if (spec.name == map)
            hash = map_layout_hash(spec);
    });
    return hash;
}

// Every problem found; empty when the manifest vouches for the object.
// `object_bytes` is the object file's content; `object` the opened object.
inline std::vector<std::string>
check_manifest(const BuildManifest& m, std::string_view object_bytes, const bpf_object* object) {
    std::vector<std::string> problems;
    if (const auto h = content_hash(object_bytes); h != m.object_hash)
        problems.push_back(
            fmt::format("the object's hash is {}, the manifest's {}: the manifest belongs to "
                        "another build",
                        h, m.object_hash));
    for (const auto& map : m.maps) {
        const auto mine = compiled_in_layout_hash(map.name);
        if (mine.empty())
            problems.push_back(fmt::format("map {}: not a map this kpr-agent knows", map.name));
        else if (mine != map.layout_hash)
            problems.push_back(
                fmt::format("map {}: layout hash {} in the manifest, {} in this kpr-agent: the "
                            "object was built from other layouts of {} {} / {}",
                            map.name, map.layout_hash, mine, map.type, map.key, map.value));
    }
    const bpf_map* map;
    bpf_object__for_each_map(map, object) {
        if (bpf_map__is_internal(map))
            continue;
        const std::string name = bpf_map__name(map);
        const auto it = std::find_if(m.maps.begin(), m.maps.end(),
                                     [&](const auto& x) { return x.name == name; });
        if (it == m.maps.end())
            problems.push_back(fmt::format("map {}: in the object but not in the manifest", name));
        else if (it->capacity != bpf_map__max_entries(map))
            problems.push_back(fmt::format("map {}: capacity {} in the object, {} in the manifest",
                                           name, bpf_map__max_entries(map), it->capacity));
    }
    return problems;
}

} // namespace kpr::manifest
