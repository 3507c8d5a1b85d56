// The bad schemas of tests/data/schema/bad/, one kind of mistake each: every
// one must be refused with exactly the listed diagnostics — line, column,
// field path and message, all of them, in order — and yield no schema.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kpr/schema/schema_decode.hpp"

namespace kpr::schema {
namespace {

namespace fs = std::filesystem;

struct BadSchema {
    std::string file;
    std::vector<std::string> expected; // "line:column: field: message"
};

const std::vector<BadSchema> bad_schemas = {
    {"affinity-enabled-not-a-bool.yaml",
     {
         "7:32: spec.features.sessionAffinity.enabled: expected true or false, got \"sometimes\"",
     }},
    {"affinity-timeout-too-long.yaml",
     {
         "7:57: spec.features.sessionAffinity.maxTimeoutSeconds: 86401 is out of range 1-86400",
     }},
    {"conntrack-capacity-below-minimum.yaml",
     {
         "7:27: spec.maps.conntrack.capacity: 0 is below the minimum 1024",
     }},
    {"conntrack-closing-outlives-established.yaml",
     {
         "9:26: spec.features.conntrack.tcpClosingSeconds: a closing TCP connection (120 s) would "
         "outlive an established one (60 s)",
     }},
    {"conntrack-new-outlives-established.yaml",
     {
         "8:22: spec.features.conntrack.tcpNewSeconds: a TCP connection being opened (90 s) would "
         "outlive an established one (60 s)",
     }},
    {"conntrack-timeout-zero.yaml",
     {
         "7:32: spec.features.conntrack.icmpSecs: unknown field",
         "7:29: spec.features.conntrack.udpSeconds: 0 is out of range 1-604800",
     }},
    {"duplicated-tc-program.yaml",
     {
         "6:28: spec.tcPrograms[1]: \"podIngress\" is listed twice",
     }},
    {"empty-label-keys.yaml",
     {
         "7:25: spec.identity.namespaceLabelKeys: at least one label key is required (\"*\" counts "
         "every label)",
     }},
    {"empty-peers.yaml",
     {
         "9:71: spec.baselinePolicy.rules[0].peers: at least one peer is required",
         "10:55: spec.baselinePolicy.rules[1].direction: \"Sideways\" is not one of Ingress, "
         "Egress",
     }},
    {"first-allocated-below-defaults.yaml",
     {
         "7:21: spec.identity.firstAllocated: 5 leaves no room for the default reserved identity "
         "remoteNode (6); list spec.identity.reserved",
     }},
    {"identity-default-reserved-taken.yaml",
     {
         "7:5: spec.identity: reserved: unmanaged is not listed, so it takes the default 3, which "
         "kubeApiserver has; give unmanaged a number of its own",
     }},
    {"identity-label-range-empty.yaml",
     {
         "7:5: spec.identity: the label identity range 9000000-8388607 is empty or starts at 0 "
         "(the label range runs from firstAllocated to 8388607, the CIDR range is "
         "8388608-16777215; unlisted reserved identities take unmanaged 3, remoteNode 6)",
     }},
    {"invalid-label-key.yaml",
     {
         "7:25: spec.identity.podLabelKeys[1]: \"-bad\" is not a label key, nor a label key prefix "
         "ending in '*': name part must begin and end with an alphanumeric character",
         "7:56: spec.identity.podLabelKeys[3]: \"app\" is listed twice",
     }},
    {"maglev-table-not-prime.yaml",
     {
         "7:60: spec.features.backendSelection.maglevTableSize: 16384 is not prime (Maglev's table "
         "size must be)",
     }},
    {"maglev-table-without-maglev.yaml",
     {
         "7:41: spec.features.backendSelection.maglevTableSize: only used when algorithm is maglev",
     }},
    {"maglev-tables-too-many-entries.yaml",
     {
         "8:19: spec.maps.maglevTables: 2048 Maglev tables of 16381 slots are 33548288 entries, "
         "above the maximum 16777216",
     }},
    {"nat-capacity-below-minimum.yaml",
     {
         "8:21: spec.maps.nat.capacity: 100 is below the minimum 1024",
     }},
    {"peer-cidr-host-bits.yaml",
     {
         "14:15: spec.baselinePolicy.rules[0].peers[0].cidr: \"10.1.2.3/8\" has host bits set (the "
         "block is 10.0.0.0/8)",
         "15:15: spec.baselinePolicy.rules[0].peers[1].cidr: \"10.0.0.0/33\" is not a CIDR (an "
         "address, '/', and a prefix length of at most 32 for IPv4 or 128 for IPv6)",
         "16:15: spec.baselinePolicy.rules[0].peers[2].cidr: \"10.0.0.0\" is not a CIDR "
         "(an address, '/', and a prefix length of at most 32 for IPv4 or 128 for IPv6)",
         "17:15: spec.baselinePolicy.rules[0].peers[3].cidr: an IPv6 CIDR, but spec.families has "
         "no IPv6",
     }},
    {"peer-label-not-identity-relevant.yaml",
     {
         "16:35: spec.baselinePolicy.rules[0].subject.podLabels.tier: \"tier\" is not an "
         "identity-relevant label key (spec.identity.podLabelKeys), so no identity can be matched "
         "by it",
         "18:26: spec.baselinePolicy.rules[0].peers[0].podLabels.app: \"bad value!\" is not a "
         "label value: must begin and end with an alphanumeric character",
         "19:33: spec.baselinePolicy.rules[0].peers[0].namespaceLabels.team: \"team\" is not an "
         "identity-relevant label key (spec.identity.namespaceLabelKeys), so no identity can be "
         "matched by it",
     }},
    {"peer-reserved-not-numbered.yaml",
     {
         "11:82: spec.baselinePolicy.rules[0].peers[0].reserved: \"kubeApiserver\" has no number "
         "in spec.identity.reserved",
     }},
    {"peer-two-kinds.yaml",
     {
         "14:9: spec.baselinePolicy.rules[0].peers[0]: a peer is exactly one of reserved, cidr, or "
         "podLabels and/or namespaceLabels",
         "15:9: spec.baselinePolicy.rules[0].peers[1]: a peer is exactly one of reserved, cidr, or "
         "podLabels and/or namespaceLabels",
         "16:32: spec.baselinePolicy.rules[0].peers[2].podLabel: unknown field (did you mean "
         "\"podLabels\"?)",
     }},
    {"port-errors.yaml",
     {
         "15:20: spec.baselinePolicy.rules[0].ports[0].protocol: \"ICMP\" is not one of TCP, UDP, "
         "SCTP",
         "16:31: spec.baselinePolicy.rules[0].ports[1].port: 0 is out of range 1-65535",
         "17:45: spec.baselinePolicy.rules[0].ports[2].endPort: 80 is below port 443: a range runs "
         "from port to endPort",
         "18:34: spec.baselinePolicy.rules[0].ports[3].endPort: needs port, the start of the range",
         "19:9: spec.baselinePolicy.rules[0].ports[4].protocol: required",
     }},
    {"reserved-number-not-below-first-allocated.yaml",
     {
         "7:32: spec.identity.reserved.world: 300 is not below firstAllocated (256), where pods' "
         "identities start",
     }},
    {"reserved-number-twice.yaml",
     {
         "7:32: spec.identity.reserved.world: 1 is also the number of host",
     }},
    {"reserved-without-host-and-world.yaml",
     {
         "7:15: spec.identity.reserved: host is required: the data path marks traffic with it",
         "7:15: spec.identity.reserved: world is required: the data path marks traffic with it",
     }},
    {"rule-bad-action-and-priority.yaml",
     {
         "9:27: spec.baselinePolicy.rules[0].priority: 1001 is out of range 0-1000",
         "9:41: spec.baselinePolicy.rules[0].action: \"allow\" is not one of Allow, Deny, Pass "
         "(did you mean \"Allow\"?)",
     }},
    {"rule-duplicate-name.yaml",
     {
         "10:14: spec.baselinePolicy.rules[1].name: \"same\" names another rule too",
         "11:14: spec.baselinePolicy.rules[2].name: \"Not_A_Label\" is not a DNS label",
     }},
    {"rule-missing-fields.yaml",
     {
         "9:7: spec.baselinePolicy.rules[0].priority: required",
         "9:7: spec.baselinePolicy.rules[0].action: required",
         "9:7: spec.baselinePolicy.rules[0].peers: required",
     }},
    {"rule-without-tc-program.yaml",
     {
         "8:56: spec.baselinePolicy.rules[0].direction: Ingress rules are enforced by the "
         "podIngress TC program, which spec.tcPrograms does not list",
     }},
    {"snat-port-below-1024.yaml",
     {
         "7:35: spec.features.nodePort.snatPortLst: unknown field (did you mean \"snatPortLast\"?)",
         "7:31: spec.features.nodePort.snatPortFirst: 80 is out of range 1024-65535",
     }},
    {"snat-port-range-empty.yaml",
     {
         "7:52: spec.features.nodePort.snatPortLast: the SNAT port range 64000-63000 is empty "
         "(snatPortFirst is above snatPortLast)",
     }},
    {"snat-port-range-overlaps-node-ports.yaml",
     {
         "7:31: spec.features.nodePort.snatPortFirst: the SNAT port range 29000-31000 overlaps "
         "the NodePort range 30000-32767",
     }},
    {"too-many-label-matches.yaml",
     {
         "11:5: spec.baselinePolicy.rules: the rules use 513 distinct label matches (subjects "
         "and label peers); the data path tests at most 512 (layout/idmatch.hpp)",
     }},
    {"unknown-backend-selection.yaml",
     {
         "7:35: spec.features.backendSelection.algorithm: \"round-robin\" is not one of random, "
         "maglev",
     }},
    {"unknown-feature.yaml",
     {
         "7:5: spec.features.sessionAfinity: unknown field (did you mean \"sessionAffinity\"?)",
     }},
    {"unknown-reserved-identity.yaml",
     {
         "7:35: spec.identity.reserved.remote-node: unknown field (did you mean \"remoteNode\"?)",
     }},
    {"unknown-tc-program.yaml",
     {
         "6:28: spec.tcPrograms[1]: \"hostEgress\" is not one of podIngress, podEgress, "
         "nodeIngress, nodeEgress (did you mean \"podEgress\"?)",
         "6:40: spec.tcPrograms[2]: \"podEgres\" is not one of podIngress, podEgress, nodeIngress, "
         "nodeEgress (did you mean \"podEgress\"?)",
     }},
};

const fs::path bad_dir = fs::path(KPR_TEST_DATA_DIR) / "schema" / "bad";

class BadSchemaTest : public testing::TestWithParam<BadSchema> {};

TEST_P(BadSchemaTest, IsRefusedWithEveryProblemAtItsPlace) {
    const auto& bad = GetParam();
    const auto path = bad_dir / bad.file;
    const SchemaResult result = load_cluster_schema(path);
    EXPECT_FALSE(result.schema.has_value());
    std::vector<std::string> reported;
    for (const Diagnostic& d : result.errors) {
        EXPECT_EQ(d.where.source, path.string());
        EXPECT_EQ(d.object, "ClusterDatapath bad");
        reported.push_back(
            fmt::format("{}:{}: {}: {}", d.where.line, d.where.column, d.field, d.message));
    }
    EXPECT_EQ(reported, bad.expected);
}

INSTANTIATE_TEST_SUITE_P(Files, BadSchemaTest, testing::ValuesIn(bad_schemas),
                         [](const testing::TestParamInfo<BadSchema>& info) {
                             auto name = info.param.file.substr(0, info.param.file.find('.'));
                             std::replace(name.begin(), name.end(), '-', '_');
                             return name;
                         });

TEST(BadSchemas, EveryFileInTheDirectoryIsInTheTable) {
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(bad_dir)) {
        ++files;
        const auto name = entry.path().filename().string();
        EXPECT_TRUE(std::any_of(bad_schemas.begin(), bad_schemas.end(),
                                [&](const BadSchema& b) { return b.file == name; }))
            << name << " has no expected diagnostics";
    }
    EXPECT_EQ(files, bad_schemas.size());
    EXPECT_GE(files, 20u);
}

} // namespace
} // namespace kpr::schema
