// Reads a cluster schema (YAML) into the typed model, checking every field:
// each problem becomes a Diagnostic with file, line, column and field path,
// all of them reported at once; unknown fields are errors with a "did you
// mean" suggestion, so a typo never silently falls back to a default.
// docs/schema.md documents the format, schema/cluster-datapath.schema.json
// describes it for editors.
//
//   apiVersion: kpr.dev/v1alpha1
//   kind: ClusterDatapath
//   metadata: {name: example}
//   spec:
//     families: [IPv4, IPv6]                  # at least one
//     socketHooks: [connect, sendmsg, recvmsg, getpeername, bind]   # default: all
//     tcPrograms: [podIngress, podEgress]     # default: none
//     maps:                                   # each optional, with a default (map_defaults)
//       services: {capacity: 65536}
//     features: {...}                         # features_decode below
//     identity: {...}                         # identity_decode.hpp
//     baselinePolicy: {rules: [...]}          # baseline_policy_decode.hpp
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/hana/fold_left.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kpr/file_contents.hpp"
#include "kpr/layout/maps.hpp"
#include "kpr/policy/identity_schema_config.hpp"
#include "kpr/schema/baseline_policy_decode.hpp"
#include "kpr/schema/cluster_schema.hpp"
#include "kpr/schema/decode_support.hpp"
#include "kpr/schema/identity_decode.hpp"
#include "kpr/yaml/documents.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::schema {

inline constexpr std::string_view schema_api_version = "kpr.dev/v1alpha1";
inline constexpr std::string_view schema_kind = "ClusterDatapath";
inline constexpr std::uint32_t min_capacity = 1;
inline constexpr std::uint32_t max_capacity = 1u << 24;

// Every map capacity a schema may set, with its default and minimum. The
// maps each one sizes are in layout/maps.hpp; kpr-gen notes a capacity set
// for a map the schema's data path does not build (codegen/schema_coverage).
struct MapDefault {
    std::string_view name;
    std::uint32_t capacity;
    std::uint32_t minimum;
};
inline constexpr MapDefault map_defaults[] = {
    {"services", 65536, min_capacity}, {"backends", 65536, min_capacity},
    {"sockRevNat", 262144, min_capacity}, {"conntrack", 262144, 1024},
    {"affinity", 65536, min_capacity}, {"ipcache", 65536, min_capacity},
    {"policy", 16384, min_capacity}, {"endpoints", 1024, min_capacity},
    {"identityMatches", 65536, min_capacity}, {"nat", 262144, 1024},
    {"sourceRanges", 16384, min_capacity}, {"maglevTables", 256, min_capacity},
};

// kpr_maglev holds maglevTables x maglevTableSize entries, at most this many.
inline constexpr std::uint64_t max_maglev_entries = max_capacity;

constexpr bool has_map_default(std::string_view name) {
    for (const auto& d : map_defaults)
        if (d.name == name)
            return true;
    return false;
}
static_assert(boost::hana::fold_left(layout::all_maps, true,
                                     [](bool ok, const auto& spec) {
                                         return ok && (spec.capacity.schema_name.empty() ||
                                                       has_map_default(spec.capacity.schema_name));
                                     }),
              "every schema capacity of layout/maps.hpp needs its entry in map_defaults");

struct SchemaResult {
    std::optional<ClusterSchema> schema; // set only when there is no error
    std::vector<Diagnostic> errors;
};

namespace detail {

inline bool is_prime(std::uint32_t n) {
    if (n < 2)
        return false;
    for (std::uint32_t d = 2; d * d <= n; ++d)
        if (n % d == 0)
            return false;
    return true;
}

inline constexpr std::uint32_t max_timeout_seconds = 7 * 24 * 3600;

// Kubernetes' default --service-node-port-range, which SNAT ports avoid.
inline constexpr std::uint16_t node_port_range_first = 30000;
inline constexpr std::uint16_t node_port_range_last = 32767;
inline constexpr std::uint16_t min_snat_port = 1024;

//   features:
//     sessionAffinity: {enabled: true, maxTimeoutSeconds: 10800}
//     backendSelection: {algorithm: maglev, maglevTableSize: 16381}   # random | maglev
//     conntrack: {tcpNewSeconds: 60, tcpEstablishedSeconds: 21600, tcpClosingSeconds: 10,
//                 udpSeconds: 30, icmpSeconds: 30}
//     nodePort: {snatPortFirst: 61000, snatPortLast: 65535}
inline Features read_features(yaml::FieldReader& r, const yaml::YamlField& field) {
    Features f;
    if (!r.expect_map(field))
        return f;
    r.reject_unknown_fields(field, {"sessionAffinity", "backendSelection", "conntrack", "nodePort"});
    if (const auto node_port = field.child("nodePort"); r.expect_map(node_port)) {
        r.reject_unknown_fields(node_port, {"snatPortFirst", "snatPortLast"});
        const auto first = node_port.child("snatPortFirst");
        const auto last = node_port.child("snatPortLast");
        if (auto p = r.read_integer(first, min_snat_port, 65535))
            f.node_port.snat_port_first = static_cast<std::uint16_t>(*p);
        if (auto p = r.read_integer(last, min_snat_port, 65535))
            f.node_port.snat_port_last = static_cast<std::uint16_t>(*p);
        const auto& n = f.node_port;
        const auto& blamed = last.present() ? last : first;
        if (n.snat_port_first > n.snat_port_last)
            r.report(blamed, fmt::format("the SNAT port range {}-{} is empty (snatPortFirst is "
                                         "above snatPortLast)",
                                         n.snat_port_first, n.snat_port_last));
        else if (n.snat_port_first <= node_port_range_last &&
                 n.snat_port_last >= node_port_range_first)
            r.report(first.present() ? first : last,
                     fmt::format("the SNAT port range {}-{} overlaps the NodePort range {}-{}",
                                 n.snat_port_first, n.snat_port_last, node_port_range_first,
                                 node_port_range_last));
    }
    if (const auto affinity = field.child("sessionAffinity"); r.expect_map(affinity)) {
        r.reject_unknown_fields(affinity, {"enabled", "maxTimeoutSeconds"});
        f.session_affinity.enabled = r.read_bool(affinity.child("enabled")).value_or(false);
        // Kubernetes caps sessionAffinityConfig.clientIP.timeoutSeconds at a day.
        if (auto t = r.read_integer(affinity.child("maxTimeoutSeconds"), 1, 86400))
            f.session_affinity.max_timeout_seconds = static_cast<std::uint32_t>(*t);
    }
    if (const auto selection = field.child("backendSelection"); r.expect_map(selection)) {
        r.reject_unknown_fields(selection, {"algorithm", "maglevTableSize"});
        if (auto a = read_choice<BackendSelection>(
                r, selection.child("algorithm"),
                std::initializer_list<BackendSelection>{BackendSelection::random,
                                                        BackendSelection::maglev}))
            f.backend_selection.algorithm = *a;
        const auto table = selection.child("maglevTableSize");
        if (auto t = r.read_integer(table, 251, 131071)) {
            if (f.backend_selection.algorithm != BackendSelection::maglev)
                r.report(table, "only used when algorithm is maglev");
            else if (!is_prime(static_cast<std::uint32_t>(*t)))
                r.report(table, fmt::format("{} is not prime (Maglev's table size must be)", *t));
            f.backend_selection.maglev_table_size = static_cast<std::uint32_t>(*t);
        }
    }
    if (const auto ct = field.child("conntrack"); r.expect_map(ct)) {
        r.reject_unknown_fields(
            ct, {"tcpNewSeconds", "tcpEstablishedSeconds", "tcpClosingSeconds", "udpSeconds",
                 "icmpSeconds"});
        const auto read = [&](std::string_view name, std::uint32_t& into) {
            if (auto v = r.read_integer(ct.child(name), 1, max_timeout_seconds))
                into = static_cast<std::uint32_t>(*v);
        };
        read("tcpNewSeconds", f.conntrack.tcp_new);
        read("tcpEstablishedSeconds", f.conntrack.tcp_established);
        read("tcpClosingSeconds", f.conntrack.tcp_closing);
        read("udpSeconds", f.conntrack.udp);
        read("icmpSeconds", f.conntrack.icmp);
        if (f.conntrack.tcp_closing > f.conntrack.tcp_established)
            r.report(ct.child("tcpClosingSeconds").present() ? ct.child("tcpClosingSeconds")
                                                             : ct.child("tcpEstablishedSeconds"),
                     fmt::format(
                         "a closing TCP connection ({} s) would outlive an established one ({} s)",
                         f.conntrack.tcp_closing, f.conntrack.tcp_established));
        if (f.conntrack.tcp_new > f.conntrack.tcp_established)
            r.report(ct.child("tcpNewSeconds").present() ? ct.child("tcpNewSeconds")
                                                         : ct.child("tcpEstablishedSeconds"),
                     fmt::format("a TCP connection being opened ({} s) would outlive an "
                                 "established one ({} s)",
                                 f.conntrack.tcp_new, f.conntrack.tcp_established));
    }
    return f;
}

} // namespace detail

inline SchemaResult decode_cluster_schema(const std::string& text, const std::string& source) {
    SchemaResult result;
    auto documents = yaml::load_yaml_documents(text, source);
    if (documents.syntax_error) {
        result.errors.push_back(*documents.syntax_error);
        return result;
    }
    if (documents.documents.size() != 1) {
        result.errors.push_back(
            {{source, 1, 1},
             "",
             "",
             fmt::format("expected one YAML document, found {}", documents.documents.size())});
        return result;
    }
    yaml::FieldReader r(source, result.errors);
    const auto doc = yaml::YamlField::document(documents.documents.front());
    if (!r.require_map(doc))
        return result;
    r.reject_unknown_fields(doc, {"apiVersion", "kind", "metadata", "spec"});

    ClusterSchema schema;
    if (const auto v = r.read_string(doc.child("apiVersion"));
        r.require(doc.child("apiVersion")) && v && *v != schema_api_version)
        r.report(doc.child("apiVersion"),
                 fmt::format("{:?} is not supported (expected {})", *v, schema_api_version));
    if (const auto k = r.read_string(doc.child("kind"));
        r.require(doc.child("kind")) && k && *k != schema_kind)
        r.report(doc.child("kind"),
                 fmt::format("{:?} is not a cluster schema (expected {})", *k, schema_kind));
    const auto metadata = doc.child("metadata");
    if (r.require_map(metadata)) {
        r.reject_unknown_fields(metadata, {"name"});
        const auto name = metadata.child("name");
        if (const auto text = r.read_string(name); text && !text->empty()) {
            schema.name = *text;
            r.name_object(fmt::format("{} {}", schema_kind, schema.name));
            // The name goes into generated sources and file names.
            if (!detail::is_dns_label(*text))
                r.report(
                    name,
                    fmt::format(
                        "{:?} is not a DNS label (1-63 of a-z, 0-9 and '-', starting and ending "
                        "with a letter or digit)",
                        *text));
        } else if (!name.present() || name.node().IsScalar()) { // else reported as not a string
            r.report(name, "required");
        }
    }

    const auto spec = doc.child("spec");
    if (r.require_map(spec)) {
        r.reject_unknown_fields(spec, {"families", "socketHooks", "tcPrograms", "maps", "features",
                                       "identity", "baselinePolicy"});
        if (r.require(spec.child("families")))
            schema.families = detail::read_choice_set<net::Family>(
                r, spec.child("families"),
                std::initializer_list<net::Family>{net::Family::ipv4, net::Family::ipv6});
        if (spec.child("families").present() && spec.child("families").node().IsSequence() &&
            spec.child("families").node().size() == 0)
            r.report(spec.child("families"), "at least one family is required");

        if (spec.child("socketHooks").present())
            schema.hooks =
                detail::read_choice_set<SocketHook>(r, spec.child("socketHooks"), all_socket_hooks);
        else
            schema.hooks = {std::begin(all_socket_hooks), std::end(all_socket_hooks)};
        if (schema.hooks.contains(SocketHook::sendmsg) &&
            !schema.hooks.contains(SocketHook::recvmsg))
            r.report(spec.child("socketHooks"),
                     "sendmsg needs recvmsg, or UDP replies would come from the "
                     "backend's address instead of the Service's");
        schema.tc_programs =
            detail::read_choice_set<TcProgram>(r, spec.child("tcPrograms"), all_tc_programs);

        std::vector<std::string_view> map_names;
        for (const auto& d : map_defaults) {
            map_names.push_back(d.name);
            schema.maps[std::string(d.name)] = MapSettings{d.capacity};
        }
        const auto maps = spec.child("maps");
        if (r.expect_map(maps)) {
            r.reject_unknown_fields(maps, map_names);
            for (const auto& [name, settings] : maps.entries()) {
                if (!schema.maps.contains(name) || !r.require_map(settings))
                    continue;
                r.reject_unknown_fields(settings, {"capacity"});
                const auto& d = *std::find_if(std::begin(map_defaults), std::end(map_defaults),
                                              [&](const MapDefault& m) { return m.name == name; });
                const auto capacity = settings.child("capacity");
                if (auto c = r.read_integer(capacity, std::numeric_limits<std::int64_t>::min(),
                                            std::numeric_limits<std::int64_t>::max())) {
                    if (*c < d.minimum)
                        r.report(capacity,
                                 fmt::format("{} is below the minimum {}", *c, d.minimum));
                    else if (*c > max_capacity)
                        r.report(capacity,
                                 fmt::format("{} is above the maximum {}", *c, max_capacity));
                    else
                        schema.maps[name].capacity = static_cast<std::uint32_t>(*c);
                }
            }
        }
        schema.features = detail::read_features(r, spec.child("features"));
        if (const std::uint64_t entries =
                std::uint64_t{schema.maps["maglevTables"].capacity} *
                schema.features.backend_selection.maglev_table_size;
            schema.features.backend_selection.algorithm == BackendSelection::maglev &&
            entries > max_maglev_entries)
            r.report(maps.child("maglevTables").present() ? maps.child("maglevTables")
                                                          : spec.child("features"),
                     fmt::format("{} Maglev tables of {} slots are {} entries, above the maximum {}",
                                 schema.maps["maglevTables"].capacity,
                                 schema.features.backend_selection.maglev_table_size, entries,
                                 max_maglev_entries));
        const std::size_t errors_before_identity = r.error_count();
        schema.identity = detail::read_identity_schema(r, spec.child("identity"));
        if (r.error_count() == errors_before_identity)
            for (const auto& problem : policy::identity_schema_problems(schema.identity))
                r.report(spec.child("identity"), problem);
        schema.baseline_policy = detail::read_baseline_policy(
            r, spec.child("baselinePolicy"),
            {schema.identity, schema.families, schema.tc_programs.contains(TcProgram::podIngress),
             schema.tc_programs.contains(TcProgram::podEgress)});
    }
    if (result.errors.empty())
        result.schema = std::move(schema);
    return result;
}

inline SchemaResult load_cluster_schema(const std::filesystem::path& path) {
    const auto text = read_file_contents(path);
    if (!text)
        return {std::nullopt, {Diagnostic{{path.string(), 0, 0}, "", "", "cannot read the file"}}};
    return decode_cluster_schema(*text, path.string());
}

} // namespace kpr::schema
