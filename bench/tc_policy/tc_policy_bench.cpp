// Nanoseconds per packet of the pod-ingress TC program (kpr_to_pod: parse,
// endpoint, conntrack, ipcache, baseline rules, policy lookups), measured
// in the kernel with BPF_PROG_TEST_RUN, and printed as ratios against a
// baseline measured in the same run:
//
//  1. flatness — a packet no entry allows (so every lookup of the bounded
//     sequence is made and no conntrack entry is created) with 10, 1,000
//     and 100,000 entries in the policy map; ratio to the 10-entry run.
//  2. unrolled vs map — the same allow rules (ingress from a /24, one TCP
//     port each) compiled into the program as baseline rules, or written
//     as ipcache blocks and policy-map entries for an object without
//     baseline rules; a new connection matching the first and the last
//     rule (conntrack emptied before each run); ratio unrolled / map.
//
// Both objects are built in-process by kpr-gen's library from schemas
// written here, and loaded with private (unpinned) maps. Nothing is
// attached and no packet leaves the test run.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "codegen/datapath_build.hpp"
#include "kpr/layout/drop_reason.hpp"
#include "kpr/layout/endpoint_policy.hpp"
#include "kpr/layout/ipcache.hpp"
#include "kpr/layout/policy.hpp"
#include "kpr/policy/policy_map_entries.hpp"
#include "kpr/schema/schema_decode.hpp"

namespace {

using namespace kpr;
namespace fs = std::filesystem;

// BPF_PROG_TEST_RUN gives a tc program the loopback device: its ifindex is
// the endpoint id the program looks up.
constexpr std::uint32_t endpoint_id = 1;
constexpr std::uint32_t pod_identity = 1000;
constexpr std::uint32_t client_identity = 2000;
constexpr std::uint32_t first_block_identity = 0x800000;
constexpr std::uint32_t world = 2;
constexpr std::uint16_t first_rule_port = 10000;

// Rule i, both ways: ingress from 10.<64 + i / 256>.<i % 256>.0/24 to TCP
// port first_rule_port + i.
std::string rule_block(int i) {
    return fmt::format("10.{}.{}.0/24", 64 + i / 256, i % 256);
}
std::array<std::uint8_t, 4> rule_client(int i) {
    return {10, static_cast<std::uint8_t>(64 + i / 256), static_cast<std::uint8_t>(i % 256), 5};
}

std::string schema_text(int policy_capacity, int rules) {
    std::string text = fmt::format(R"(apiVersion: kpr.dev/v1alpha1
kind: ClusterDatapath
metadata: {{name: tc-bench}}
spec:
  families: [IPv4]
  tcPrograms: [podIngress, podEgress]
  maps:
    policy: {{capacity: {}}}
    ipcache: {{capacity: 4096}}
)",
                                   policy_capacity);
    if (rules > 0) {
        text += "  baselinePolicy:\n    rules:\n";
        for (int i = 0; i < rules; ++i)
            text += fmt::format(
                "    - {{name: r{}, priority: 1, action: Allow, direction: Ingress, peers: [{{cidr: "
                "{}}}], ports: [{{protocol: TCP, port: {}}}]}}\n",
                i, rule_block(i), first_rule_port + i);
    }
    return text;
}

struct Object {
    std::unique_ptr<bpf_object, decltype(&bpf_object__close)> object{nullptr, &bpf_object__close};
    int program = -1;
    bpf_map* endpoints = nullptr;
    bpf_map* ipcache = nullptr;
    bpf_map* policy = nullptr;
    bpf_map* conntrack = nullptr;
    bpf_map* drops = nullptr;
};

Object build_and_load(const std::string& text, const fs::path& dir) {
    const auto decoded = schema::decode_cluster_schema(text, "tc-bench.yaml");
    if (!decoded.schema)
        throw std::runtime_error("bench schema: " + decoded.errors.front().str());
    const auto builds = codegen::build_datapath(
        {*decoded.schema,
         text,
         KPR_TEMPLATES_DIR,
         {KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE, KPR_CLANG_RESOURCE_DIR},
         dir});
    const auto tc = std::find_if(builds.begin(), builds.end(), [](const auto& b) {
        return b.datapath == layout::Datapath::tc;
    });
    if (tc == builds.end())
        throw std::runtime_error("the bench schema built no TC object");
    Object o;
    o.object.reset(bpf_object__open_file(tc->object.c_str(), nullptr));
    if (!o.object)
        throw std::runtime_error("cannot open " + tc->object.string());
    bpf_map* map;
    bpf_object__for_each_map(map, o.object.get()) bpf_map__set_pin_path(map, nullptr);
    if (const int err = bpf_object__load(o.object.get()); err != 0)
        throw std::runtime_error(
            fmt::format("the kernel refused {}: {}", tc->object.string(), std::strerror(-err)));
    o.program = bpf_program__fd(bpf_object__find_program_by_name(o.object.get(), "kpr_to_pod"));
    o.endpoints = bpf_object__find_map_by_name(o.object.get(), "kpr_endpoint");
    o.ipcache = bpf_object__find_map_by_name(o.object.get(), "kpr_ipcache4");
    o.policy = bpf_object__find_map_by_name(o.object.get(), "kpr_policy");
    o.conntrack = bpf_object__find_map_by_name(o.object.get(), "kpr_ct4");
    o.drops = bpf_object__find_map_by_name(o.object.get(), "kpr_drops");
    return o;
}

template <class K, class V> void put(bpf_map* map, const K& key, const V& value) {
    if (bpf_map__update_elem(map, &key, sizeof key, &value, sizeof value, BPF_ANY) != 0)
        throw std::runtime_error(
            fmt::format("cannot write {}: {}", bpf_map__name(map), std::strerror(errno)));
}

void clear(bpf_map* map) {
    std::vector<std::uint8_t> key(bpf_map__key_size(map)), next(key.size());
    while (bpf_map__get_next_key(map, nullptr, next.data(), next.size()) == 0)
        bpf_map__delete_elem(map, next.data(), next.size(), 0);
}

void put_ipcache(bpf_map* ipcache, std::string_view prefix, std::uint32_t identity,
                 std::uint32_t cidr_identity, std::uint32_t endpoint = 0) {
    put(ipcache, policy::ipcache_key4(*net::Prefix::parse(prefix)),
        policy::ipcache_value({identity, cidr_identity}, endpoint));
}

// The pod, a client, the world; ingress enforced, single-port entries.
void program_pod(const Object& o, bool ingress_enforced) {
    put(o.endpoints, layout::EndpointKey{endpoint_id},
        layout::EndpointValue{pod_identity, 1u << 16, 0, 1,
                              ingress_enforced ? layout::endpoint_ingress_enforced : std::uint8_t{0},
                              {}});
    put_ipcache(o.ipcache, "0.0.0.0/0", world, world);
    put_ipcache(o.ipcache, "10.1.0.1/32", pod_identity, world, endpoint_id);
    put_ipcache(o.ipcache, "10.1.0.2/32", client_identity, world);
}

void put_policy(const Object& o, std::uint32_t endpoint, std::uint32_t peer, std::uint16_t port) {
    put(o.policy,
        policy::policy_map_key(endpoint, {peer, policy::Direction::ingress, 6, {port, 16}}),
        policy::policy_map_value());
}

// Ethernet, IPv4 and a TCP SYN from `source` to the pod's 10.1.0.1.
std::vector<std::uint8_t> tcp_syn(std::array<std::uint8_t, 4> source, std::uint16_t port) {
    std::vector<std::uint8_t> p(64, 0);
    p[12] = 0x08; // IPv4
    std::uint8_t* ip = p.data() + 14;
    ip[0] = 0x45;
    ip[3] = 40; // total length
    ip[8] = 64; // ttl
    ip[9] = 6;  // TCP
    std::memcpy(ip + 12, source.data(), 4);
    const std::uint8_t destination[] = {10, 1, 0, 1};
    std::memcpy(ip + 16, destination, 4);
    std::uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += ip[i] << 8 | ip[i + 1];
    sum = (sum & 0xffff) + (sum >> 16);
    const std::uint16_t check = static_cast<std::uint16_t>(~(sum + (sum >> 16)));
    ip[10] = check >> 8;
    ip[11] = check & 0xff;
    std::uint8_t* tcp = ip + 20;
    tcp[0] = 0xc3; // source port 50000
    tcp[1] = 0x50;
    tcp[2] = port >> 8;
    tcp[3] = port & 0xff;
    tcp[12] = 5 << 4;
    tcp[13] = 0x02; // SYN
    return p;
}

struct Run {
    std::uint32_t ns_per_packet;
    std::uint32_t verdict;
};

Run test_run(int program, std::vector<std::uint8_t> packet, std::uint32_t repeat) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(),
                .data_size_in = static_cast<__u32>(packet.size()), .repeat = repeat);
    if (bpf_prog_test_run_opts(program, &opts) != 0)
        throw std::runtime_error(fmt::format("BPF_PROG_TEST_RUN: {}", std::strerror(errno)));
    return {opts.duration, opts.retval};
}

// Packets dropped for a reason, summed over the CPUs.
std::uint64_t drops(const Object& o, layout::DropReason reason) {
    const auto key = static_cast<std::uint32_t>(reason);
    std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(libbpf_num_possible_cpus()));
    if (bpf_map__lookup_elem(o.drops, &key, sizeof key, per_cpu.data(),
                             per_cpu.size() * sizeof(std::uint64_t), 0) != 0)
        throw std::runtime_error(fmt::format("cannot read kpr_drops: {}", std::strerror(errno)));
    std::uint64_t sum = 0;
    for (const auto n : per_cpu)
        sum += n;
    return sum;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// A new connection each time: conntrack emptied before each single run.
double new_connection_ns(const Object& o, const std::vector<std::uint8_t>& packet, int runs,
                         std::uint32_t expected_verdict) {
    std::vector<double> ns;
    for (int i = 0; i < runs; ++i) {
        clear(o.conntrack);
        const Run r = test_run(o.program, packet, 1);
        if (r.verdict != expected_verdict)
            throw std::runtime_error(fmt::format("verdict {} instead of {}", r.verdict,
                                                 expected_verdict));
        ns.push_back(r.ns_per_packet);
    }
    return median(ns);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"kpr's pod-ingress TC program, nanoseconds per packet (BPF_PROG_TEST_RUN)"};
    int rounds = 7;
    std::uint32_t repeat = 200000;
    int fresh_runs = 4001;
    int rules = 500;
    bool smoke = false;
    app.add_option("--rounds", rounds, "rounds over every size, the median is reported");
    app.add_option("--repeat", repeat, "packets per test run");
    app.add_option("--fresh-runs", fresh_runs, "single-packet runs per new-connection figure");
    app.add_option("--rules", rules, "allow rules compared unrolled and in the map");
    app.add_flag("--smoke", smoke, "a few packets of each kind: checks the harness, not the cost");
    CLI11_PARSE(app, argc, argv);
    if (smoke) {
        rounds = 1;
        repeat = 100;
        fresh_runs = 11;
        rules = 20;
    }
    const fs::path dir = fs::temp_directory_path() / fmt::format("kprt-{}-tc-bench", ::getpid());
    struct Cleanup {
        fs::path dir;
        ~Cleanup() { fs::remove_all(dir); }
    } cleanup{dir};

    try {
        constexpr std::uint32_t tc_act_shot = 2, tc_act_ok = 0;
        // 1. Flatness.
        const std::vector<int> sizes = {10, 1000, 100000};
        const Object plain = build_and_load(schema_text(131072, 0), dir / "plain");
        program_pod(plain, true);
        std::mt19937 rng(1);
        std::vector<std::vector<double>> ns(sizes.size());
        const auto denied = tcp_syn({10, 1, 0, 2}, 80);
        for (int round = 0; round < rounds; ++round)
            for (std::size_t s = 0; s < sizes.size(); ++s) {
                clear(plain.policy);
                // Entries for other endpoints and peers: none allows the packet.
                for (int i = 0; i < sizes[s]; ++i)
                    put_policy(plain, 100 + rng() % 5000, 3000 + rng() % 100000,
                               static_cast<std::uint16_t>(1 + rng() % 65535));
                const Run r = test_run(plain.program, denied, repeat);
                if (r.verdict != tc_act_shot)
                    throw std::runtime_error(fmt::format("the unallowed packet got verdict {}",
                                                         r.verdict));
                ns[s].push_back(r.ns_per_packet);
            }
        // Every one of those packets was dropped by the policy lookups, not earlier.
        const auto denied_by_policy = drops(plain, layout::DropReason::policy_denied_ingress);
        if (denied_by_policy != std::uint64_t{repeat} * sizes.size() * rounds)
            throw std::runtime_error(fmt::format(
                "{} packets counted as policy_denied_ingress, {} sent", denied_by_policy,
                std::uint64_t{repeat} * sizes.size() * rounds));
        fmt::print("pod ingress, packet no entry allows (every lookup made), median of {} runs "
                   "of {} packets:\n",
                   rounds, repeat);
        const double base = median(ns[0]);
        for (std::size_t s = 0; s < sizes.size(); ++s)
            fmt::print("  {:>7} policy entries: {:7.1f} ns/packet  {:.3f}x of {} entries\n",
                       sizes[s], median(ns[s]), median(ns[s]) / base, sizes[0]);

        // 2. Unrolled vs map.
        clear(plain.policy);
        const Object unrolled = build_and_load(schema_text(131072, rules), dir / "unrolled");
        program_pod(unrolled, true);
        for (int i = 0; i < rules; ++i) {
            const auto block = rule_block(i);
            const std::uint32_t identity = first_block_identity + static_cast<std::uint32_t>(i);
            put_ipcache(plain.ipcache, block, identity, identity);
            put_ipcache(unrolled.ipcache, block, identity, identity);
            put_policy(plain, endpoint_id, identity,
                       static_cast<std::uint16_t>(first_rule_port + i));
        }
        fmt::print("the same {} allow rules (ingress from a /24 on one TCP port each), new "
                   "connection, median of {} runs:\n",
                   rules, fresh_runs);
        for (const int i : {0, rules - 1}) {
            const auto packet =
                tcp_syn(rule_client(i), static_cast<std::uint16_t>(first_rule_port + i));
            const double in_map = new_connection_ns(plain, packet, fresh_runs, tc_act_ok);
            const double in_code = new_connection_ns(unrolled, packet, fresh_runs, tc_act_ok);
            fmt::print("  matching rule {:>4}: unrolled {:7.1f} ns, map {:7.1f} ns  "
                       "unrolled/map {:.3f}x\n",
                       i + 1, in_code, in_map, in_code / in_map);
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-bench-tc-policy: {}\n", e.what());
        return 1;
    }
    return 0;
}
