// Reads a cluster schema (YAML) into the typed model, checking every field:
// each problem becomes a Diagnostic with file, line, column and field path,
// all of them reported at once; unknown fields are errors with a "did you
// mean" suggestion, so a typo never silently falls back to a default.
//
//   apiVersion: kpr.dev/v1alpha1
//   kind: ClusterDatapath
//   metadata: {name: example}
//   spec:
//     families: [IPv4, IPv6]                  # at least one
//     socketHooks: [connect, sendmsg, recvmsg, getpeername]   # default: all
//     maps:                                   # each optional, with a default
//       services:   {capacity: 65536}         # frontends plus one entry per backend slot, per family
//       backends:   {capacity: 65536}         # distinct backends, per family
//       sockRevNat: {capacity: 262144}        # sockets translated, per family (LRU)
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/hana/fold_left.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kpr/layout/maps.hpp"
#include "kpr/schema/cluster_schema.hpp"
#include "kpr/yaml/documents.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::schema {

inline constexpr std::string_view schema_api_version = "kpr.dev/v1alpha1";
inline constexpr std::string_view schema_kind = "ClusterDatapath";
inline constexpr std::uint32_t min_capacity = 1;
inline constexpr std::uint32_t max_capacity = 1u << 24;

struct MapDefault {
    std::string_view name;
    std::uint32_t capacity;
};
inline constexpr MapDefault map_defaults[] = {
    {"services", 65536},
    {"backends", 65536},
    {"sockRevNat", 262144},
};

constexpr bool has_map_default(std::string_view name) {
    for (const auto& d : map_defaults)
        if (d.name == name)
            return true;
    return false;
}
static_assert(boost::hana::fold_left(layout::all_maps, true,
                                     [](bool ok, const auto& spec) { return ok && has_map_default(spec.capacity); }),
              "every map of layout/maps.hpp needs its capacity in map_defaults");

struct SchemaResult {
    std::optional<ClusterSchema> schema; // set only when there is no error
    std::vector<Diagnostic> errors;
};

namespace detail {

inline bool is_dns_label(std::string_view s) {
    const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back()))
        return false;
    return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

inline std::optional<net::Family> parse_family(std::string_view s) {
    if (s == "IPv4")
        return net::Family::ipv4;
    if (s == "IPv6")
        return net::Family::ipv6;
    return std::nullopt;
}

inline std::optional<SocketHook> parse_hook(std::string_view s) {
    for (auto h : {SocketHook::connect, SocketHook::sendmsg, SocketHook::recvmsg, SocketHook::getpeername})
        if (to_string(h) == s)
            return h;
    return std::nullopt;
}

template <class T, class Parse>
std::set<T> read_name_set(yaml::FieldReader& r, const yaml::YamlField& field, Parse parse,
                          const std::vector<std::string_view>& names) {
    std::set<T> out;
    for (const auto& item : r.read_list(field)) {
        const auto text = r.read_string(item);
        if (!text)
            continue;
        const auto value = parse(*text);
        if (!value) {
            r.report(item, fmt::format("{:?} is not one of {}{}", *text, fmt::join(names, ", "),
                                       yaml::did_you_mean(*text, names)));
            continue;
        }
        if (!out.insert(*value).second)
            r.report(item, fmt::format("{:?} is listed twice", *text));
    }
    return out;
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
        result.errors.push_back({{source, 1, 1}, "", "", fmt::format("expected one YAML document, found {}",
                                                                      documents.documents.size())});
        return result;
    }
    yaml::FieldReader r(source, result.errors);
    const auto doc = yaml::YamlField::document(documents.documents.front());
    if (!r.require_map(doc))
        return result;
    r.reject_unknown_fields(doc, {"apiVersion", "kind", "metadata", "spec"});

    ClusterSchema schema;
    if (const auto v = r.read_string(doc.child("apiVersion")); r.require(doc.child("apiVersion")) && v &&
                                                                 *v != schema_api_version)
        r.report(doc.child("apiVersion"), fmt::format("{:?} is not supported (expected {})", *v, schema_api_version));
    if (const auto k = r.read_string(doc.child("kind")); r.require(doc.child("kind")) && k && *k != schema_kind)
        r.report(doc.child("kind"), fmt::format("{:?} is not a cluster schema (expected {})", *k, schema_kind));
    const auto metadata = doc.child("metadata");
    if (r.require_map(metadata)) {
        r.reject_unknown_fields(metadata, {"name"});
        const auto name = metadata.child("name");
        if (const auto text = r.read_string(name); text && !text->empty()) {
            schema.name = *text;
            r.name_object(fmt::format("{} {}", schema_kind, schema.name));
            // The name goes into generated sources and file names.
            if (!detail::is_dns_label(*text))
                r.report(name, fmt::format("{:?} is not a DNS label (1-63 of a-z, 0-9 and '-', starting and ending "
                                           "with a letter or digit)",
                                           *text));
        } else if (!name.present() || name.node().IsScalar()) { // else reported as not a string
            r.report(name, "required");
        }
    }

    const auto spec = doc.child("spec");
    if (r.require_map(spec)) {
        r.reject_unknown_fields(spec, {"families", "socketHooks", "maps"});
        if (r.require(spec.child("families")))
            schema.families = detail::read_name_set<net::Family>(r, spec.child("families"), detail::parse_family,
                                                                 {"IPv4", "IPv6"});
        if (spec.child("families").present() && spec.child("families").node().IsSequence() &&
            spec.child("families").node().size() == 0)
            r.report(spec.child("families"), "at least one family is required");

        if (spec.child("socketHooks").present())
            schema.hooks = detail::read_name_set<SocketHook>(r, spec.child("socketHooks"), detail::parse_hook,
                                                             {"connect", "sendmsg", "recvmsg", "getpeername"});
        else
            schema.hooks = {SocketHook::connect, SocketHook::sendmsg, SocketHook::recvmsg, SocketHook::getpeername};
        if (schema.hooks.contains(SocketHook::sendmsg) && !schema.hooks.contains(SocketHook::recvmsg))
            r.report(spec.child("socketHooks"), "sendmsg needs recvmsg, or UDP replies would come from the "
                                                "backend's address instead of the Service's");

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
                if (auto c = r.read_integer(settings.child("capacity"), min_capacity, max_capacity))
                    schema.maps[name].capacity = static_cast<std::uint32_t>(*c);
            }
        }
    }
    if (result.errors.empty())
        result.schema = std::move(schema);
    return result;
}

inline SchemaResult load_cluster_schema(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return {std::nullopt, {Diagnostic{{path.string(), 0, 0}, "", "", "cannot read the file"}}};
    std::ostringstream text;
    text << in.rdbuf();
    return decode_cluster_schema(text.str(), path.string());
}

} // namespace kpr::schema
