// The unrolled baseline rules run for real: kpr-gen's C for a schema's
// baseline policy, compiled in-process into a small syscall program
// (tests/data/baseline/probe.bpf.c) and run with BPF_PROG_TEST_RUN on
// subjects built from a compiled cluster (identities from the policy
// compiler, kpr_idmatch filled by identity_match_entries), must give every
// packet the verdict of the C++ reference (baseline_reference.hpp) — for the
// golden schema and for randomised rule sets. The 1,000-rule example must
// pass this kernel's verifier.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <iostream>
#include <filesystem>
#include <memory>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "baseline_reference.hpp"
#include "codegen/baseline_policy_c.hpp"
#include "codegen/bpf_compiler.hpp"
#include "codegen/bpf_template.hpp"
#include "codegen/c_layouts.hpp"
#include "codegen/c_maps.hpp"
#include "kpr/layout/maps.hpp"
#include "kpr/policy/identity_match_entries.hpp"
#include "kpr/policy/identity_schema_config.hpp"
#include "kpr/schema/schema_decode.hpp"
#include "policy_reference.hpp"
#include "testbed/privileges.hpp"

namespace kpr {
namespace {

namespace fs = std::filesystem;
namespace ref = baseline_reference;
using schema::IdentityLabelMatch;

// struct kpr_policy_subject (lib/policy_subject.h) followed by the probe's
// direction switch.
struct Subject {
    std::uint32_t local_identity;
    std::uint32_t peer_identity;
    std::uint32_t peer_cidr_identity;
    std::uint8_t family;
    std::uint8_t proto;
    std::uint16_t dport;
    std::array<std::uint8_t, 16> peer_addr;
    std::uint32_t egress;
};
static_assert(sizeof(Subject) == 36);

using ObjectPtr = std::unique_ptr<bpf_object, decltype(&bpf_object__close)>;

// The probe program for one schema's rules, loaded with private maps.
class Probe {
  public:
    Probe(const schema::ClusterSchema& schema, const fs::path& dir) : object_(nullptr, &bpf_object__close) {
        std::vector<codegen::PlannedMap> plan;
        if (codegen::baseline_uses_idmatch(schema))
            plan.push_back({"kpr_idmatch", layout::MapType::hash, net::Family::ipv4,
                            "identityMatches", 4096, layout::describe<layout::IdmatchKey>(),
                            layout::describe<layout::IdmatchValue>()});
        codegen::TemplateInputs inputs;
        inputs.slots["layouts"] = codegen::emit_c_layouts(plan);
        inputs.slots["maps"] = codegen::emit_c_maps(plan);
        inputs.slots["baseline"] = codegen::emit_baseline_policy_c(schema);
        const auto source = codegen::expand_template(
            codegen::read_template(KPR_TEST_DATA_DIR "/baseline/probe.bpf.c"), "probe.bpf.c",
            inputs);
        fs::create_directories(dir);
        const auto object_path = dir / "probe.bpf.o";
        codegen::compile_bpf_object({KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE, KPR_CLANG_RESOURCE_DIR},
                                    {source, dir / "probe.bpf.c", codegen::planned_layouts(plan), {}},
                                    object_path);
        object_.reset(bpf_object__open_file(object_path.c_str(), nullptr));
        if (!object_)
            throw std::runtime_error("cannot open the probe object");
        bpf_map* map;
        bpf_object__for_each_map(map, object_.get()) bpf_map__set_pin_path(map, nullptr);
        if (const int err = bpf_object__load(object_.get()); err != 0)
            throw std::runtime_error(fmt::format("the verifier refused the probe: {}", std::strerror(-err)));
        program_ = bpf_object__find_program_by_name(object_.get(), "kpr_baseline_probe");
        idmatch_ = bpf_object__find_map_by_name(object_.get(), "kpr_idmatch");
    }

    std::uint32_t verified_instructions() const {
        bpf_prog_info info{};
        __u32 length = sizeof info;
        bpf_obj_get_info_by_fd(bpf_program__fd(program_), &info, &length);
        return info.verified_insns;
    }

    void fill_idmatch(const std::map<layout::IdmatchKey, layout::IdmatchValue>& entries) {
        if (!idmatch_)
            return;
        for (const auto& [key, value] : entries)
            ASSERT_EQ(bpf_map__update_elem(idmatch_, &key, sizeof key, &value, sizeof value, BPF_ANY), 0);
    }

    int run(Subject subject) const {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &subject, .ctx_size_in = sizeof subject);
        if (bpf_prog_test_run_opts(bpf_program__fd(program_), &opts) != 0)
            throw std::runtime_error(fmt::format("BPF_PROG_TEST_RUN: {}", std::strerror(errno)));
        return static_cast<int>(opts.retval);
    }

  private:
    ObjectPtr object_;
    bpf_program* program_ = nullptr;
    bpf_map* idmatch_ = nullptr;
};

net::Address ip(std::string_view text) {
    return *net::Address::parse(std::string(text));
}

// A small cluster seen from node-1: local pods are the subjects; every pod,
// both nodes and outside addresses (some inside NetworkPolicy blocks, so
// they carry CIDR identities) are peers.
struct Cluster {
    policy::testing::ClusterBuilder builder;
    policy::PolicyState state;

    struct Place {
        std::string name;
        ref::PeerKind kind;
        std::optional<k8s::ObjectKey> pod;
        net::Address address;
    };
    std::vector<Place> places;
    std::vector<k8s::ObjectKey> local_pods;

    Cluster() {
        builder.add_namespace("kube-system", {});
        builder.add_namespace("shop", {{"team", "red"}});
        builder.add_namespace("lab", {});
        builder.add_node("node-1", {ip("192.168.0.1"), ip("fd01::1")});
        builder.add_node("node-2", {ip("192.168.0.2"), ip("fd01::2")});
        const auto pod = [&](const std::string& ns, const std::string& name, k8s::Labels labels,
                             std::vector<net::Address> ips, const std::string& node) {
            builder.add_pod(ns, name, std::move(labels), ips, node);
            const k8s::ObjectKey key{"Pod", ns, name};
            if (node == "node-1")
                local_pods.push_back(key);
            for (const auto& a : ips)
                places.push_back({ns + "/" + name + " " + a.str(), ref::PeerKind::pod, key, a});
        };
        pod("kube-system", "dns", {{"app", "kube-dns"}}, {ip("10.0.0.10"), ip("fd00::10")}, "node-1");
        pod("shop", "web", {{"app", "web"}}, {ip("10.0.1.1"), ip("fd00::1:1")}, "node-1");
        pod("shop", "db", {{"app", "db"}, {"tier", "x"}}, {ip("10.0.1.2")}, "node-1");
        pod("lab", "web", {{"app", "web"}}, {ip("10.0.2.1"), ip("fd00::2:1")}, "node-1");
        pod("lab", "other", {{"app", "other"}}, {ip("10.96.0.5")}, "node-1");
        pod("shop", "cache", {{"app", "cache"}}, {ip("10.0.3.1"), ip("fd00::3:1")}, "node-2");
        places.push_back({"node-1", ref::PeerKind::this_node, {}, ip("192.168.0.1")});
        places.push_back({"node-1 v6", ref::PeerKind::this_node, {}, ip("fd01::1")});
        places.push_back({"node-2", ref::PeerKind::other_node, {}, ip("192.168.0.2")});
        places.push_back({"node-2 v6", ref::PeerKind::other_node, {}, ip("fd01::2")});
        for (const char* outside : {"169.254.169.254", "10.96.1.1", "8.8.8.8", "1.1.1.1",
                                    "fd00:ec2::254", "2001:db8:1234::1", "2001:db8:1235::1",
                                    "2001:db8:1236::1", "2001:4860::8888"})
            places.push_back({outside, ref::PeerKind::outside, {}, ip(outside)});
        // Blocks NetworkPolicies name: outside addresses in them get CIDR
        // identities instead of world, which `reserved: world` must not mind.
        builder.add_policies(R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: blocks, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  egress:
  - to:
    - ipBlock: {cidr: 8.8.8.0/24}
    - ipBlock: {cidr: "2001:4860::/32"}
)");
        state = policy::compile_policy(builder.input, "node-1");
    }

    ref::PodLabels labels_of(const k8s::ObjectKey& key) const {
        const k8s::Pod& pod = *std::find_if(builder.input.pods.begin(), builder.input.pods.end(),
                                            [&](const k8s::Pod& p) {
                                                return p.meta.namespace_ == key.namespace_ &&
                                                       p.meta.name == key.name;
                                            });
        const policy::IdentityConfig config;
        ref::PodLabels out{config.relevant_pod_labels(pod.meta.labels), {}};
        for (const auto& ns : builder.input.namespaces)
            if (ns.meta.name == key.namespace_)
                out.namespace_ = config.relevant_namespace_labels(ns.meta.labels);
        return out;
    }
};

const std::vector<std::pair<std::uint8_t, std::uint16_t>> probes = {
    {6, 53}, {17, 53}, {6, 8050}, {6, 8100}, {6, 8101}, {132, 9}, {17, 5001}, {1, 0}};

// How many packets the reference decided each way (pass, allow, deny).
using Tally = std::array<std::size_t, 3>;

// Every local pod, every peer, every probe, both directions: the probe
// program's verdict against the reference's. Returns the differences.
std::vector<std::string> compare(const schema::ClusterSchema& schema, const Cluster& cluster,
                                 const fs::path& dir, Tally& tally) {
    Probe probe(schema, dir);
    probe.fill_idmatch(policy::identity_match_entries(
        cluster.state, schema::baseline_label_matches(schema.baseline_policy)));
    std::vector<std::string> out;
    for (const auto& local : cluster.local_pods)
        for (const auto& peer : cluster.places)
            for (const auto& [proto, port] : probes)
                for (const auto direction :
                     {schema::PolicyDirection::ingress, schema::PolicyDirection::egress}) {
                    const bool v4 = peer.address.family() == net::Family::ipv4;
                    const std::uint8_t protocol = proto == 1 && !v4 ? 58 : proto;
                    const ref::Packet packet{direction,
                                             cluster.labels_of(local),
                                             peer.kind,
                                             peer.pod ? std::optional(cluster.labels_of(*peer.pod))
                                                      : std::nullopt,
                                             peer.address,
                                             protocol,
                                             port};
                    const auto* entry = policy::lookup_ipcache(cluster.state.ipcache, peer.address);
                    Subject s{cluster.state.endpoints.at(local).identity,
                              entry->identity,
                              entry->cidr_identity,
                              static_cast<std::uint8_t>(v4 ? 4 : 6),
                              protocol,
                              port,
                              {},
                              direction == schema::PolicyDirection::egress};
                    std::memcpy(s.peer_addr.data(), peer.address.v6_bytes().data(), v4 ? 4 : 16);
                    const int want = static_cast<int>(ref::decide(schema.baseline_policy, packet));
                    const int got = probe.run(s);
                    ++tally.at(static_cast<std::size_t>(want));
                    if (want != got)
                        out.push_back(fmt::format("{} {}/{} {} {}: reference {}, emitted C {}",
                                                  local.namespace_ + "/" + local.name, proto, port,
                                                  to_string(direction), peer.name, want, got));
                }
    return out;
}

std::string report(const std::vector<std::string>& mismatches) {
    std::string out = fmt::format("{} packets decided differently:\n", mismatches.size());
    for (std::size_t i = 0; i < mismatches.size() && i < 40; ++i)
        out += "  " + mismatches[i] + "\n";
    return out;
}

class BaselinePolicyKernel : public testing::Test {
  protected:
    void SetUp() override { KPR_REQUIRE_KERNEL_PRIVILEGES(); }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_ = fs::temp_directory_path() / fmt::format("kprt-{}-baseline", ::getpid());
};

TEST_F(BaselinePolicyKernel, TheGoldenRulesDecideEveryPacketAsTheReference) {
    const auto r = schema::load_cluster_schema(KPR_GOLDEN_DIR "/baseline/every-kind.yaml");
    ASSERT_TRUE(r.schema) << r.errors.front().str();
    const Cluster cluster;
    Tally tally{};
    const auto mismatches = compare(*r.schema, cluster, dir_, tally);
    EXPECT_TRUE(mismatches.empty()) << report(mismatches);
    for (const std::size_t decided : tally) // every verdict is exercised
        EXPECT_GT(decided, 10u);
}

// Rules drawn at random from pools of subjects, peers and ports that the
// cluster's pods, nodes and outside addresses hit and miss, with few
// distinct priorities so that document order among equals matters.
schema::BaselinePolicy random_policy(std::mt19937& rng) {
    using M = IdentityLabelMatch;
    const std::vector<M> labels = {
        M{{{"app", "web"}}, {}},
        M{{{"app", "db"}}, {}},
        M{{{"app", "kube-dns"}}, {{"kubernetes.io/metadata.name", "kube-system"}}},
        M{{}, {{"kubernetes.io/metadata.name", "lab"}}},
        M{{}, {{"team", "red"}}},
        M{{{"tier", "x"}}, {{"team", "red"}}},
        M{{{"app", "cache"}}, {}},
        M{{{"app", "nobody"}}, {}},
    };
    const std::vector<std::string> cidrs = {
        "10.96.0.0/12", "169.254.169.254/32", "0.0.0.0/0",        "10.0.1.0/24",
        "8.8.8.0/24",   "fd00::/64",          "2001:db8:1234::/47", "::/0",
        "fd00:ec2::254/128", "192.168.0.0/16", "fd00::1:0/112"};
    const std::vector<schema::ReservedIdentityKind> reserved = {
        schema::ReservedIdentityKind::host, schema::ReservedIdentityKind::world,
        schema::ReservedIdentityKind::remoteNode, schema::ReservedIdentityKind::kubeApiserver};
    const std::vector<schema::PolicyPort> ports = {
        {k8s::Protocol::TCP, 53, 0},      {k8s::Protocol::UDP, 53, 0},
        {k8s::Protocol::TCP, 8000, 8100}, {k8s::Protocol::SCTP, 0, 0},
        {k8s::Protocol::TCP, 0, 0},       {k8s::Protocol::UDP, 5000, 5001}};
    schema::BaselinePolicy policy;
    const int n = 20 + static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
        schema::BaselineRule r;
        r.name = fmt::format("r{}", i);
        r.priority = rng() % 6;
        r.action = static_cast<schema::PolicyAction>(rng() % 3);
        r.direction = static_cast<schema::PolicyDirection>(rng() % 2);
        if (rng() % 3 != 0)
            r.subject = labels[rng() % labels.size()];
        for (int p = 0, peers = 1 + static_cast<int>(rng() % 3); p < peers; ++p)
            switch (rng() % 3) {
            case 0:
                r.peers.push_back(labels[rng() % labels.size()]);
                break;
            case 1:
                r.peers.push_back(*net::Prefix::parse(cidrs[rng() % cidrs.size()]));
                break;
            default:
                r.peers.push_back(reserved[rng() % reserved.size()]);
            }
        for (int p = 0, count = static_cast<int>(rng() % 3); p < count; ++p)
            r.ports.push_back(ports[rng() % ports.size()]);
        policy.rules.push_back(std::move(r));
    }
    return policy;
}

TEST_F(BaselinePolicyKernel, RandomRuleSetsDecideEveryPacketAsTheReference) {
    const Cluster cluster;
    Tally tally{};
    for (unsigned seed = 1; seed <= 6; ++seed) {
        std::mt19937 rng(seed);
        schema::ClusterSchema schema;
        schema.name = "random";
        schema.families = {net::Family::ipv4, net::Family::ipv6};
        schema.baseline_policy = random_policy(rng);
        const auto mismatches = compare(schema, cluster, dir_ / std::to_string(seed), tally);
        EXPECT_TRUE(mismatches.empty()) << "seed " << seed << ": " << report(mismatches);
    }
    for (const std::size_t decided : tally)
        EXPECT_GT(decided, 100u);
    std::cout << fmt::format("pass {}, allow {}, deny {}\n", tally[0], tally[1], tally[2]);
}

TEST_F(BaselinePolicyKernel, TheThousandRuleExamplePassesTheVerifier) {
    const auto r = schema::load_cluster_schema(KPR_EXAMPLES_DIR "/schemas/baseline-1k.yaml");
    ASSERT_TRUE(r.schema);
    const Probe probe(*r.schema, dir_);
    std::cout << "baseline-1k probe: " << probe.verified_instructions()
              << " instructions verified\n";
    EXPECT_GT(probe.verified_instructions(), 1000u);
}

} // namespace
} // namespace kpr
