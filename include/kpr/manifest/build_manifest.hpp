// The build manifest kpr-gen writes next to each object
// (kpr_sock.bpf.o -> kpr_sock.manifest.json): which schema built it, the
// object's own hash, every map with its capacity and layout hash, and the
// programs with their sections and instruction counts. An object that
// enforces policy also carries what the agent must compute exactly as the
// build assumed: the identity configuration and the baseline rules' label
// matches, in the order of their bits in kpr_idmatch. Both objects carry
// the load-balancing settings the agent programs the maps by (Maglev table
// size and count, SNAT port range, whether affinity is built). kpr-agent reads it
// before loading the object (manifest_check.hpp). JSON, so any tool can
// read it; parsed here with yaml-cpp, whose YAML is a superset of JSON.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kpr/file_contents.hpp"
#include "kpr/policy/identity.hpp"
#include "kpr/schema/baseline_policy.hpp"
#include "kpr/schema/cluster_schema.hpp"

namespace kpr::manifest {

inline constexpr int manifest_format = 1;

struct ManifestMap {
    std::string name;
    std::string type; // BPF_MAP_TYPE_...
    std::uint32_t capacity = 0;
    std::string key; // C struct names
    std::string value;
    std::string layout_hash;
    bool operator==(const ManifestMap&) const = default;
};

struct ManifestProgram {
    std::string name;
    std::string section; // "cgroup/connect4": the hook it attaches to
    std::uint32_t instructions = 0;
    bool operator==(const ManifestProgram&) const = default;
};

struct BuildManifest {
    std::string schema_name;
    std::string schema_hash;
    std::string object_file; // the file name, next to the manifest
    std::string object_hash;
    std::vector<ManifestMap> maps;
    std::vector<ManifestProgram> programs;
    // Set for an object with TC policy programs.
    std::optional<policy::IdentityConfig> identity;
    std::vector<schema::IdentityLabelMatch> baseline_label_matches; // bit i: match i
    // "loadBalancing": spec.features as the build used them.
    schema::BackendSelection backend_selection = schema::BackendSelection::random;
    std::uint32_t maglev_table_size = 0; // slots per Maglev table (kpr_maglev)
    std::uint32_t maglev_tables = 0;     // tables kpr_maglev holds (spec.maps.maglevTables)
    std::uint16_t snat_port_first = 0;   // the external path's SNAT ports
    std::uint16_t snat_port_last = 0;
    bool session_affinity = false; // kpr_affinity is built
    bool operator==(const BuildManifest&) const = default;
};

inline std::filesystem::path manifest_path_for(const std::filesystem::path& object) {
    std::string name = object.filename().string();
    if (const auto dot = name.find('.'); dot != std::string::npos)
        name.resize(dot);
    return object.parent_path() / (name + ".manifest.json");
}

// Every string written is an identifier, a section name or a hash: none
// needs escaping, which to_json checks rather than assumes.
inline std::string to_json(const BuildManifest& m) {
    const auto quoted = [](const std::string& s) {
        for (char c : s)
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
                throw std::invalid_argument(fmt::format("manifest: {:?} needs escaping", s));
        return fmt::format("\"{}\"", s);
    };
    std::string out =
        fmt::format("{{\n  \"kprManifest\": {},\n  \"schema\": {{\"name\": {}, \"hash\": {}}},\n"
                    "  \"object\": {{\"file\": {}, \"hash\": {}}},\n  \"maps\": [",
                    manifest_format, quoted(m.schema_name), quoted(m.schema_hash),
                    quoted(m.object_file), quoted(m.object_hash));
    for (std::size_t i = 0; i < m.maps.size(); ++i) {
        const auto& map = m.maps[i];
        out += fmt::format(
            "{}\n    {{\"name\": {}, \"type\": {}, \"capacity\": {}, \"key\": {}, \"value\": {}, "
            "\"layoutHash\": {}}}",
            i ? "," : "", quoted(map.name), quoted(map.type), map.capacity, quoted(map.key),
            quoted(map.value), quoted(map.layout_hash));
    }
    out += "\n  ],\n  \"programs\": [";
    for (std::size_t i = 0; i < m.programs.size(); ++i) {
        const auto& p = m.programs[i];
        out += fmt::format("{}\n    {{\"name\": {}, \"section\": {}, \"instructions\": {}}}",
                           i ? "," : "", quoted(p.name), quoted(p.section), p.instructions);
    }
    out += fmt::format("\n  ],\n  \"loadBalancing\": {{\"backendSelection\": {}, "
                       "\"maglevTableSize\": {}, \"maglevTables\": {}, \"snatPortFirst\": {}, "
                       "\"snatPortLast\": {}, \"sessionAffinity\": {}}}",
                       quoted(std::string(schema::to_string(m.backend_selection))),
                       m.maglev_table_size, m.maglev_tables, m.snat_port_first,
                       m.snat_port_last, m.session_affinity);
    if (m.identity) {
        const auto strings = [&](const std::vector<std::string>& list) {
            std::string text;
            for (const auto& item : list)
                text += fmt::format("{}{}", text.empty() ? "" : ", ", quoted(item));
            return "[" + text + "]";
        };
        const auto labels = [&](const std::map<std::string, std::string>& map) {
            std::string text;
            for (const auto& [key, value] : map)
                text += fmt::format("{}{}: {}", text.empty() ? "" : ", ", quoted(key), quoted(value));
            return "{" + text + "}";
        };
        const policy::IdentityConfig& c = *m.identity;
        out += fmt::format(
            ",\n  \"identity\": {{\"podLabelKeys\": {}, \"namespaceLabelKeys\": {}, "
            "\"excludedLabelKeys\": {},\n    \"reserved\": {{\"host\": {}, \"world\": {}, "
            "\"unmanaged\": {}, \"remoteNode\": {}}}, \"labelRange\": [{}, {}], \"cidrRange\": "
            "[{}, {}]}},\n  \"baselineLabelMatches\": [",
            strings(c.pod_label_keys), strings(c.namespace_label_keys),
            strings(c.excluded_label_keys), c.reserved.host, c.reserved.world,
            c.reserved.unmanaged, c.reserved.remote_node, c.label_range.first, c.label_range.last,
            c.cidr_range.first, c.cidr_range.last);
        for (std::size_t i = 0; i < m.baseline_label_matches.size(); ++i) {
            const auto& match = m.baseline_label_matches[i];
            out += fmt::format("{}\n    {{\"podLabels\": {}, \"namespaceLabels\": {}}}",
                               i ? "," : "", labels(match.pod_labels),
                               labels(match.namespace_labels));
        }
        out += "\n  ]";
    }
    out += "\n}\n";
    return out;
}

struct ManifestError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws ManifestError naming the file and what is missing or malformed.
inline BuildManifest read_manifest(const std::filesystem::path& path) {
    const auto text = read_file_contents(path);
    if (!text)
        throw ManifestError(
            fmt::format("{}: cannot read the build manifest (kpr-gen writes it next to the object)",
                        path.string()));
    try {
        const YAML::Node root = YAML::Load(*text);
        if (root["kprManifest"].as<int>() != manifest_format)
            throw ManifestError(
                fmt::format("{}: manifest format {} is not {}, the one this kpr-agent reads",
                            path.string(), root["kprManifest"].as<int>(), manifest_format));
        BuildManifest m;
        m.schema_name = root["schema"]["name"].as<std::string>();
        m.schema_hash = root["schema"]["hash"].as<std::string>();
        m.object_file = root["object"]["file"].as<std::string>();
        m.object_hash = root["object"]["hash"].as<std::string>();
        for (const auto& map : root["maps"])
            m.maps.push_back({map["name"].as<std::string>(), map["type"].as<std::string>(),
                              map["capacity"].as<std::uint32_t>(), map["key"].as<std::string>(),
                              map["value"].as<std::string>(), map["layoutHash"].as<std::string>()});
        for (const auto& p : root["programs"])
            m.programs.push_back({p["name"].as<std::string>(), p["section"].as<std::string>(),
                                  p["instructions"].as<std::uint32_t>()});
        const YAML::Node lb = root["loadBalancing"];
        const auto selection = lb["backendSelection"].as<std::string>();
        if (selection != "random" && selection != "maglev")
            throw ManifestError(fmt::format("{}: loadBalancing.backendSelection {:?} is neither "
                                            "random nor maglev",
                                            path.string(), selection));
        m.backend_selection = selection == "maglev" ? schema::BackendSelection::maglev
                                                    : schema::BackendSelection::random;
        m.maglev_table_size = lb["maglevTableSize"].as<std::uint32_t>();
        m.maglev_tables = lb["maglevTables"].as<std::uint32_t>();
        m.snat_port_first = lb["snatPortFirst"].as<std::uint16_t>();
        m.snat_port_last = lb["snatPortLast"].as<std::uint16_t>();
        m.session_affinity = lb["sessionAffinity"].as<bool>();
        if (const YAML::Node identity = root["identity"]) {
            policy::IdentityConfig c;
            c.pod_label_keys = identity["podLabelKeys"].as<std::vector<std::string>>();
            c.namespace_label_keys = identity["namespaceLabelKeys"].as<std::vector<std::string>>();
            c.excluded_label_keys = identity["excludedLabelKeys"].as<std::vector<std::string>>();
            const YAML::Node reserved = identity["reserved"];
            c.reserved = {reserved["host"].as<std::uint32_t>(), reserved["world"].as<std::uint32_t>(),
                          reserved["unmanaged"].as<std::uint32_t>(),
                          reserved["remoteNode"].as<std::uint32_t>()};
            const auto range = [](const YAML::Node& node) {
                return policy::IdentityRange{node[0].as<std::uint32_t>(),
                                             node[1].as<std::uint32_t>()};
            };
            c.label_range = range(identity["labelRange"]);
            c.cidr_range = range(identity["cidrRange"]);
            m.identity = std::move(c);
            using Labels = std::map<std::string, std::string>;
            for (const auto& match : root["baselineLabelMatches"])
                m.baseline_label_matches.push_back(
                    {match["podLabels"].as<Labels>(), match["namespaceLabels"].as<Labels>()});
        }
        return m;
    } catch (const YAML::Exception& e) {
        throw ManifestError(
            fmt::format("{}: not a kpr build manifest: {}", path.string(), e.what()));
    }
}

} // namespace kpr::manifest
