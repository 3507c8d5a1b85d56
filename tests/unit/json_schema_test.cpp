// schema/cluster-datapath.schema.json (for editors) and the decoder agree
// on the fields: every property the JSON Schema names is one the decoder
// knows, at each level, and the map names are exactly the decoder's.
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "kpr/schema/schema_decode.hpp"

namespace kpr::schema {
namespace {

const YAML::Node json_schema = YAML::LoadFile(KPR_JSON_SCHEMA);

std::set<std::string> property_names(const YAML::Node& object_schema) {
    std::set<std::string> out;
    for (const auto& p : object_schema["properties"])
        out.insert(p.first.as<std::string>());
    return out;
}

// Unknown-field diagnostics when `key: null` is written at `where`, a
// flow-style path of maps under spec ("features" -> "features: {key: null}").
std::vector<std::string> unknown_fields(const std::string& where, const std::string& key) {
    std::string value = key + ": null";
    std::string path = where;
    while (!path.empty()) {
        const auto dot = path.rfind('.');
        value = (dot == std::string::npos ? path : path.substr(dot + 1)) + ": {" + value + "}";
        path = dot == std::string::npos ? "" : path.substr(0, dot);
    }
    const auto text = "apiVersion: kpr.dev/v1alpha1\nkind: ClusterDatapath\nmetadata: {name: "
                      "j}\nspec: {families: "
                      "[IPv4], " +
                      value + "}\n";
    std::vector<std::string> out;
    for (const auto& d : decode_cluster_schema(text, "j.yaml").errors)
        if (d.message.starts_with("unknown field"))
            out.push_back(d.field);
    return out;
}

TEST(JsonSchema, EverySpecPropertyIsKnownToTheDecoder) {
    const auto spec = json_schema["properties"]["spec"];
    for (const auto& name : property_names(spec))
        EXPECT_EQ(unknown_fields("", name), std::vector<std::string>{}) << "spec." << name;
    for (const char* level : {"features", "identity"})
        for (const auto& name : property_names(spec["properties"][level]))
            EXPECT_EQ(unknown_fields(level, name), std::vector<std::string>{})
                << level << "." << name;
    EXPECT_EQ(unknown_fields("features", "noSuchFeature"),
              std::vector<std::string>{"spec.features.noSuchFeature"});
}

TEST(JsonSchema, NamesExactlyTheDecodersMaps) {
    std::set<std::string> decoder;
    for (const auto& d : map_defaults)
        decoder.insert(std::string(d.name));
    EXPECT_EQ(property_names(json_schema["properties"]["spec"]["properties"]["maps"]), decoder);
}

TEST(JsonSchema, NamesEveryRuleFieldTheDecoderReads) {
    const auto rule = json_schema["$defs"]["rule"];
    EXPECT_EQ(property_names(rule),
              (std::set<std::string>{"name", "priority", "action", "direction", "subject", "peers",
                                     "ports"}));
    std::set<std::string> reserved;
    for (auto k : all_reserved_identity_kinds)
        reserved.insert(std::string(to_string(k)));
    EXPECT_EQ(
        property_names(
            json_schema["properties"]["spec"]["properties"]["identity"]["properties"]["reserved"]),
        reserved);
}

} // namespace
} // namespace kpr::schema
