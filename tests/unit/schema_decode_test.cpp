// Decoding the cluster schema: a valid schema gives the typed model with its
// defaults filled in, and each kind of bad schema yields the exact
// diagnostics (place, object, field, message), all of them, and no schema.
#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "kpr/schema/schema_decode.hpp"

namespace kpr::schema {
namespace {

SchemaResult decode(std::string_view text) {
    return decode_cluster_schema(std::string(text), "schema.yaml");
}

// A schema named "example" whose spec's first line is line 6.
std::string schema(std::string_view spec) {
    return R"(apiVersion: kpr.dev/v1alpha1
kind: ClusterDatapath
metadata:
  name: example
spec:
)" + std::string(spec);
}

// One diagnostic, every part compared exactly.
struct Reported {
    int line = 0;
    int column = 0;
    std::string object;
    std::string field;
    std::string message;

    bool operator==(const Reported&) const = default;
    friend void PrintTo(const Reported& r, std::ostream* out) {
        *out << r.line << ":" << r.column << " [" << r.object << "] " << r.field << ": "
             << r.message;
    }
};

// What decoding a bad schema reports; a schema with errors yields no model.
std::vector<Reported> errors(std::string_view text) {
    const SchemaResult result = decode(text);
    EXPECT_FALSE(result.schema.has_value());
    std::vector<Reported> out;
    for (const Diagnostic& d : result.errors) {
        EXPECT_EQ(d.where.source, "schema.yaml");
        out.push_back({d.where.line, d.where.column, d.object, d.field, d.message});
    }
    return out;
}

std::uint32_t default_capacity(std::string_view map) {
    for (const MapDefault& d : map_defaults)
        if (d.name == map)
            return d.capacity;
    ADD_FAILURE() << "no default for " << map;
    return 0;
}

const std::set<SocketHook> all_hooks{SocketHook::connect, SocketHook::sendmsg, SocketHook::recvmsg,
                                     SocketHook::getpeername, SocketHook::bind};

// --- valid schemas ---

TEST(SchemaDecode, FullSchemaDecodesEveryField) {
    const SchemaResult r = decode(R"(# An edge cluster: IPv6 only, TCP only.
apiVersion: kpr.dev/v1alpha1
kind: ClusterDatapath
metadata: {name: edge}
spec:
  families: [IPv6]
  socketHooks:
  - connect
  - getpeername
  maps:
    services: {capacity: 4096}
    backends:
      capacity: 2048
    sockRevNat: {capacity: 8192}
)");
    EXPECT_TRUE(r.errors.empty());
    ASSERT_TRUE(r.schema.has_value());
    EXPECT_EQ(r.schema->name, "edge");
    EXPECT_EQ(r.schema->families, std::set<net::Family>{net::Family::ipv6});
    EXPECT_EQ(r.schema->hooks,
              (std::set<SocketHook>{SocketHook::connect, SocketHook::getpeername}));
    EXPECT_EQ(r.schema->capacity("services"), 4096u);
    EXPECT_EQ(r.schema->capacity("backends"), 2048u);
    EXPECT_EQ(r.schema->capacity("sockRevNat"), 8192u);
    EXPECT_EQ(r.schema->maps.size(), std::size(map_defaults));
}

TEST(SchemaDecode, ExampleClusterSchemaDecodes) {
    const SchemaResult r = load_cluster_schema(KPR_EXAMPLE_SCHEMA);
    EXPECT_TRUE(r.errors.empty());
    ASSERT_TRUE(r.schema.has_value());
    ClusterSchema expected;
    expected.name = "example";
    expected.families = {net::Family::ipv4, net::Family::ipv6};
    expected.hooks = {SocketHook::connect, SocketHook::sendmsg, SocketHook::recvmsg,
                      SocketHook::getpeername};
    for (const MapDefault& d : map_defaults)
        expected.maps[std::string(d.name)] = {d.capacity};
    expected.maps["services"] = {65536};
    expected.maps["backends"] = {65536};
    expected.maps["sockRevNat"] = {262144};
    EXPECT_EQ(*r.schema, expected);
}

TEST(SchemaDecode, SocketHooksDefaultToAllFive) {
    const SchemaResult r = decode(schema("  families: [IPv4]\n"));
    ASSERT_TRUE(r.schema.has_value());
    EXPECT_EQ(r.schema->hooks, all_hooks);
}

TEST(SchemaDecode, MapCapacitiesDefaultWhenMapsIsAbsent) {
    const SchemaResult r = decode(schema("  families: [IPv4, IPv6]\n"));
    ASSERT_TRUE(r.schema.has_value());
    std::vector<std::string> names;
    for (const auto& [name, settings] : r.schema->maps) {
        names.push_back(name);
        EXPECT_EQ(settings.capacity, default_capacity(name)) << name;
    }
    EXPECT_EQ(names, (std::vector<std::string>{"affinity", "backends", "conntrack", "endpoints",
                                               "identityMatches", "ipcache", "maglevTables", "nat",
                                               "policy", "services", "sockRevNat",
                                               "sourceRanges"}));
}

TEST(SchemaDecode, MapsGivenInPartKeepTheDefaultsForTheRest) {
    const SchemaResult r = decode(schema(R"(  families: [IPv4]
  maps:
    services: {}
    backends: {capacity: 1024}
)"));
    EXPECT_TRUE(r.errors.empty());
    ASSERT_TRUE(r.schema.has_value());
    EXPECT_EQ(r.schema->capacity("services"), default_capacity("services"));
    EXPECT_EQ(r.schema->capacity("backends"), 1024u);
    EXPECT_EQ(r.schema->capacity("sockRevNat"), default_capacity("sockRevNat"));
}

TEST(SchemaDecode, CapacityMayBeAnythingFromOneToTheMaximum) {
    const SchemaResult r = decode(schema(R"(  families: [IPv4]
  maps:
    services: {capacity: 1}
    sockRevNat: {capacity: 16777216}
)"));
    EXPECT_TRUE(r.errors.empty());
    ASSERT_TRUE(r.schema.has_value());
    EXPECT_EQ(r.schema->capacity("services"), 1u);
    EXPECT_EQ(r.schema->capacity("sockRevNat"), max_capacity);
}

// --- the document ---

TEST(SchemaDecode, YamlSyntaxError) {
    EXPECT_EQ(
        errors(schema("  families: [IPv4\n  maps: {}\n")),
        (std::vector<Reported>{{7, 7, "", "", "invalid YAML: end of sequence flow not found"}}));
}

TEST(SchemaDecode, OneDocumentOnly) {
    EXPECT_EQ(errors(schema("  families: [IPv4]\n---\n") + schema("  families: [IPv6]\n")),
              (std::vector<Reported>{{1, 1, "", "", "expected one YAML document, found 2"}}));
}

TEST(SchemaDecode, WrongApiVersion) {
    EXPECT_EQ(
        errors(R"(apiVersion: kpr.dev/v1
kind: ClusterDatapath
metadata:
  name: example
spec:
  families: [IPv4]
)"),
        (std::vector<Reported>{{1, 13, "", "apiVersion",
                                "\"kpr.dev/v1\" is not supported (expected kpr.dev/v1alpha1)"}}));
}

TEST(SchemaDecode, WrongKind) {
    EXPECT_EQ(
        errors(R"(apiVersion: kpr.dev/v1alpha1
kind: Service
metadata:
  name: example
spec:
  families: [IPv4]
)"),
        (std::vector<Reported>{
            {2, 7, "", "kind", "\"Service\" is not a cluster schema (expected ClusterDatapath)"}}));
}

TEST(SchemaDecode, MissingMetadataName) {
    EXPECT_EQ(errors(R"(apiVersion: kpr.dev/v1alpha1
kind: ClusterDatapath
metadata: {}
spec:
  families: [IPv4]
)"),
              (std::vector<Reported>{{3, 11, "", "metadata.name", "required"}}));
}

// The name goes into the generated sources; an empty one is no name.
TEST(SchemaDecode, EmptyMetadataNameIsMissing) {
    EXPECT_EQ(errors(R"(apiVersion: kpr.dev/v1alpha1
kind: ClusterDatapath
metadata:
  name: ""
spec:
  families: [IPv4]
)"),
              (std::vector<Reported>{{4, 9, "", "metadata.name", "required"}}));
}

TEST(SchemaDecode, TheNameMustBeADnsLabel) {
    EXPECT_EQ(errors(R"(apiVersion: kpr.dev/v1alpha1
kind: ClusterDatapath
metadata:
  name: "Prod */ cluster"
spec:
  families: [IPv4]
)"),
              (std::vector<Reported>{
                  {4, 9, "ClusterDatapath Prod */ cluster", "metadata.name",
                   "\"Prod */ cluster\" is not a DNS label (1-63 of a-z, 0-9 and '-', starting "
                   "and ending with a letter or digit)"}}));
}

// --- families and hooks ---

TEST(SchemaDecode, MissingFamilies) {
    EXPECT_EQ(
        errors(schema("  socketHooks: [connect, getpeername]\n")),
        (std::vector<Reported>{{6, 3, "ClusterDatapath example", "spec.families", "required"}}));
}

TEST(SchemaDecode, EmptyFamilies) {
    EXPECT_EQ(errors(schema("  families: []\n")),
              (std::vector<Reported>{{6, 13, "ClusterDatapath example", "spec.families",
                                      "at least one family is required"}}));
}

TEST(SchemaDecode, UnknownFamilyListsTheChoicesAndTheLikelyOne) {
    EXPECT_EQ(errors(schema("  families: [IPv5, ipv6, IPX]\n")),
              (std::vector<Reported>{
                  {6, 14, "ClusterDatapath example", "spec.families[0]",
                   "\"IPv5\" is not one of IPv4, IPv6 (did you mean \"IPv4\"?)"},
                  {6, 20, "ClusterDatapath example", "spec.families[1]",
                   "\"ipv6\" is not one of IPv4, IPv6 (did you mean \"IPv6\"?)"},
                  {6, 26, "ClusterDatapath example", "spec.families[2]",
                   "\"IPX\" is not one of IPv4, IPv6"},
              }));
}

TEST(SchemaDecode, DuplicatedFamily) {
    EXPECT_EQ(errors(schema(R"(  families:
  - IPv4
  - IPv6
  - IPv4
)")),
              (std::vector<Reported>{{9, 5, "ClusterDatapath example", "spec.families[2]",
                                      "\"IPv4\" is listed twice"}}));
}

TEST(SchemaDecode, UnknownHook) {
    EXPECT_EQ(errors(schema("  families: [IPv4]\n  socketHooks: [connect, accept, getpeernam]\n")),
              (std::vector<Reported>{
                  {7, 26, "ClusterDatapath example", "spec.socketHooks[1]",
                   "\"accept\" is not one of connect, sendmsg, recvmsg, getpeername, bind"},
                  {7, 34, "ClusterDatapath example", "spec.socketHooks[2]",
                   "\"getpeernam\" is not one of connect, sendmsg, recvmsg, getpeername, bind "
                   "(did you mean \"getpeername\"?)"},
              }));
}

TEST(SchemaDecode, SendmsgWithoutRecvmsg) {
    EXPECT_EQ(errors(schema("  families: [IPv4]\n  socketHooks: [connect, sendmsg]\n")),
              (std::vector<Reported>{
                  {7, 16, "ClusterDatapath example", "spec.socketHooks",
                   "sendmsg needs recvmsg, or UDP replies would come from the backend's address "
                   "instead of the Service's"}}));
}

// --- unknown fields, placed at the key ---

TEST(SchemaDecode, UnknownTopLevelField) {
    EXPECT_EQ(errors(schema("  families: [IPv4]\nstatus:\n  built: true\n")),
              (std::vector<Reported>{{7, 1, "", "status", "unknown field"}}));
}

// The misspelt key is on line 6; its value starts on line 7.
TEST(SchemaDecode, UnknownSpecFieldSuggestsTheKnownOne) {
    EXPECT_EQ(errors(schema("  famlies:\n  - IPv4\n")),
              (std::vector<Reported>{
                  {6, 3, "ClusterDatapath example", "spec.famlies",
                   "unknown field (did you mean \"families\"?)"},
                  {6, 3, "ClusterDatapath example", "spec.families", "required"},
              }));
}

TEST(SchemaDecode, UnknownMap) {
    EXPECT_EQ(errors(schema("  families: [IPv4]\n  maps:\n    service: {capacity: 4096}\n")),
              (std::vector<Reported>{{8, 5, "ClusterDatapath example", "spec.maps.service",
                                      "unknown field (did you mean \"services\"?)"}}));
}

TEST(SchemaDecode, UnknownMapSetting) {
    EXPECT_EQ(errors(schema(R"(  families: [IPv4]
  maps:
    backends:
      capacty: 4096
)")),
              (std::vector<Reported>{{9, 7, "ClusterDatapath example", "spec.maps.backends.capacty",
                                      "unknown field (did you mean \"capacity\"?)"}}));
}

// --- capacities ---

TEST(SchemaDecode, CapacityZero) {
    EXPECT_EQ(errors(schema("  families: [IPv4]\n  maps:\n    services: {capacity: 0}\n")),
              (std::vector<Reported>{{8, 26, "ClusterDatapath example",
                                      "spec.maps.services.capacity", "0 is below the minimum 1"}}));
}

TEST(SchemaDecode, CapacityAboveTheMaximum) {
    EXPECT_EQ(
        errors(schema("  families: [IPv4]\n  maps:\n    backends: {capacity: 16777217}\n")),
        (std::vector<Reported>{{8, 26, "ClusterDatapath example", "spec.maps.backends.capacity",
                                "16777217 is above the maximum 16777216"}}));
}

TEST(SchemaDecode, CapacityThatIsAString) {
    EXPECT_EQ(
        errors(schema("  families: [IPv4]\n  maps:\n    sockRevNat: {capacity: 64k}\n")),
        (std::vector<Reported>{{8, 28, "ClusterDatapath example", "spec.maps.sockRevNat.capacity",
                                "expected an integer, got \"64k\""}}));
}

// --- all at once ---

TEST(SchemaDecode, EveryErrorIsReportedNotJustTheFirst) {
    EXPECT_EQ(errors(R"(apiVersion: kpr.dev/v1beta1
kind: ClusterDatapath
metadata:
  name: example
spec:
  families: [IPv4, IPv5]
  socketHooks: [sendmsg]
  maps:
    services: {capacity: 0}
    backend: {capacity: 1024}
)"),
              (std::vector<Reported>{
                  {1, 13, "", "apiVersion",
                   "\"kpr.dev/v1beta1\" is not supported (expected kpr.dev/v1alpha1)"},
                  {6, 20, "ClusterDatapath example", "spec.families[1]",
                   "\"IPv5\" is not one of IPv4, IPv6 (did you mean \"IPv4\"?)"},
                  {7, 16, "ClusterDatapath example", "spec.socketHooks",
                   "sendmsg needs recvmsg, or UDP replies would come from the backend's address "
                   "instead of the Service's"},
                  {10, 5, "ClusterDatapath example", "spec.maps.backend",
                   "unknown field (did you mean \"backends\"?)"},
                  {9, 26, "ClusterDatapath example", "spec.maps.services.capacity",
                   "0 is below the minimum 1"},
              }));
}

} // namespace
} // namespace kpr::schema

namespace kpr::schema {
namespace {

// The example with every section: each value read where docs/schema.md says.
TEST(SchemaDecode, AllFeaturesExampleDecodesEverySection) {
    const SchemaResult r = load_cluster_schema(KPR_EXAMPLES_DIR "/schemas/all-features.yaml");
    ASSERT_TRUE(r.schema.has_value()) << (r.errors.empty() ? "" : r.errors.front().str());
    const ClusterSchema& s = *r.schema;
    EXPECT_EQ(s.tc_programs.size(), 4u);
    EXPECT_EQ(s.capacity("conntrack"), 524288u);
    EXPECT_TRUE(s.features.session_affinity.enabled);
    EXPECT_EQ(s.features.backend_selection.algorithm, BackendSelection::maglev);
    EXPECT_EQ(s.features.backend_selection.maglev_table_size, 16381u);
    EXPECT_EQ(s.features.conntrack.udp, 60u);
    EXPECT_EQ(s.features.conntrack.tcp_new, 30u);
    EXPECT_EQ(s.capacity("endpoints"), 2048u);
    EXPECT_TRUE(s.identity.pod_label_counts("app.kubernetes.io/name"));
    EXPECT_FALSE(s.identity.pod_label_counts("version"));
    EXPECT_TRUE(s.identity.namespace_label_counts("team"));
    EXPECT_EQ(s.identity.number_of(ReservedIdentityKind::health), 4u);
    EXPECT_EQ(s.identity.number_of(ReservedIdentityKind::unmanaged), std::nullopt);
    ASSERT_EQ(s.baseline_policy.rules.size(), 4u);
    const BaselineRule& dns = s.baseline_policy.rules[1];
    EXPECT_EQ(dns.name, "allow-dns");
    EXPECT_EQ(dns.action, PolicyAction::allow);
    EXPECT_EQ(dns.direction, PolicyDirection::egress);
    ASSERT_EQ(dns.peers.size(), 1u);
    EXPECT_EQ(std::get<IdentityLabelMatch>(dns.peers[0])
                  .namespace_labels.at("kubernetes.io/metadata.name"),
              "kube-system");
    EXPECT_EQ(dns.ports,
              (std::vector<PolicyPort>{{k8s::Protocol::UDP, 53, 0}, {k8s::Protocol::TCP, 53, 0}}));
    const auto metadata = std::get<net::Prefix>(s.baseline_policy.rules[0].peers[0]);
    EXPECT_EQ(metadata.str(), "169.254.169.254/32");
    EXPECT_EQ(std::get<ReservedIdentityKind>(s.baseline_policy.rules[2].peers[0]),
              ReservedIdentityKind::host);
    EXPECT_EQ(s.baseline_policy.rules[3].ports[0].end_port, 32767);
}

TEST(SchemaDecode, IdentityAndFeaturesDefaultWhenAbsent) {
    const SchemaResult r =
        decode_cluster_schema("apiVersion: kpr.dev/v1alpha1\nkind: ClusterDatapath\nmetadata: "
                              "{name: d}\nspec:\n  families: [IPv4]\n",
                              "d.yaml");
    ASSERT_TRUE(r.schema.has_value());
    EXPECT_EQ(r.schema->identity, IdentitySchema{});
    EXPECT_EQ(r.schema->features, Features{});
    EXPECT_TRUE(r.schema->identity.pod_label_counts("anything"));
    EXPECT_EQ(r.schema->identity.number_of(ReservedIdentityKind::world), 2u);
    EXPECT_TRUE(r.schema->tc_programs.empty());
    EXPECT_TRUE(r.schema->baseline_policy.rules.empty());
}

TEST(SchemaDecode, TheThousandRuleExampleKeepsEveryRuleInOrder) {
    const SchemaResult r = load_cluster_schema(KPR_EXAMPLES_DIR "/schemas/baseline-1k.yaml");
    ASSERT_TRUE(r.schema.has_value());
    ASSERT_EQ(r.schema->baseline_policy.rules.size(), 1000u);
    for (std::size_t i = 0; i < 1000; ++i)
        EXPECT_EQ(r.schema->baseline_policy.rules[i].name, fmt::format("rule-{:04}", i));
}

} // namespace
} // namespace kpr::schema
