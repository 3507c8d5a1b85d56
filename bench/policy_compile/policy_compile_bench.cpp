// How long the policy compiler takes per policy-map entry it produces, for
// policy sets of about 10, 1,000 and 100,000 entries on one node of a fixed
// cluster (1,000 pods in 10 namespaces, 100 of them on the node compiled
// for). The same compile with no policy at all — identities and the
// ipcache only — is measured in the same run as the baseline; the summary
// prints each set's time per entry above that baseline and its ratio to
// the 1,000-entry set's (the 10-entry set's few microseconds above the
// baseline are within noise), so the figures compare within one run.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "kpr/policy/policy_compiler.hpp"

namespace {

using namespace kpr;

constexpr int namespaces = 10;
constexpr int pods_per_namespace = 100;
constexpr int node_count = 10;

k8s::LabelSelector match(const std::string& key, const std::string& value) {
    return k8s::LabelSelector{{{key, value}}, {}};
}

policy::PolicyInput cluster(int policy_count) {
    policy::PolicyInput input;
    for (int n = 0; n < namespaces; ++n) {
        const std::string ns = fmt::format("ns{}", n);
        input.namespaces.push_back({k8s::ObjectMeta{
            "",
            ns,
            {{"kubernetes.io/metadata.name", ns}, {"team", fmt::format("t{}", n % 3)}},
            {}}});
        for (int p = 0; p < pods_per_namespace; ++p) {
            k8s::Pod pod;
            pod.meta = {
                ns,
                fmt::format("pod-{}", p),
                {{"app", fmt::format("a{}", p % 5)}, {"pod-template-hash", fmt::format("{:x}", p)}},
                {}};
            pod.node_name = fmt::format("node-{}", p / (pods_per_namespace / node_count));
            pod.phase = k8s::PodPhase::Running;
            pod.ips = {net::Address::v4(htonl((10u << 24) | (n << 16) | (p + 1)))};
            pod.container_ports = {
                {"http", static_cast<std::uint16_t>(8000 + p % 3), k8s::Protocol::TCP}};
            input.pods.push_back(std::move(pod));
        }
    }
    for (int i = 0; i < node_count; ++i)
        input.nodes.push_back({fmt::format("node-{}", i),
                               {net::Address::v4(htonl((192u << 24) | (168u << 16) | (i + 1)))}});
    for (int i = 0; i < policy_count; ++i) {
        k8s::NetworkPolicy policy;
        policy.meta = {fmt::format("ns{}", i % namespaces), fmt::format("policy-{}", i), {}, {}};
        policy.pod_selector = match("app", fmt::format("a{}", i % 5));
        policy.ingress_type = true;
        policy.egress_type = i % 4 == 1;
        k8s::NetworkPolicyRule rule;
        k8s::NetworkPolicyPeer peer;
        peer.namespace_selector = match("team", fmt::format("t{}", i % 3));
        peer.pod_selector = match("app", fmt::format("a{}", (i + 1) % 5));
        rule.peers.push_back(peer);
        k8s::NetworkPolicyPort port;
        // Policies alike in selectors (every 30th) get other ports, so that
        // entries grow with the number of policies.
        const auto first = static_cast<std::uint16_t>(1024 + 64 * (i / 30) % 60000);
        port.port = first;
        if (i % 10 == 5)
            port.end_port = static_cast<std::uint16_t>(first + 37);
        rule.ports.push_back(port);
        if (i % 7 == 3) {
            k8s::NetworkPolicyPort named;
            named.port = std::string("http");
            rule.ports.push_back(named);
        }
        policy.ingress.push_back(rule);
        if (policy.egress_type) {
            k8s::NetworkPolicyRule egress;
            k8s::NetworkPolicyPeer block;
            block.ip_block = k8s::IpBlock{
                *net::Prefix::parse(fmt::format("172.{}.0.0/16", 16 + i % 16)),
                {*net::Prefix::parse(fmt::format("172.{}.{}.0/24", 16 + i % 16, i % 256))}};
            egress.peers.push_back(block);
            k8s::NetworkPolicyPort dns;
            dns.protocol = k8s::Protocol::UDP;
            dns.port = std::uint16_t{53};
            egress.ports.push_back(dns);
            policy.egress.push_back(egress);
        }
        input.policies.push_back(std::move(policy));
    }
    return input;
}

// The number of policies that yields about target entries on node-0,
// found by compiling (outside the timing) and scaling a few times.
int policies_for(std::size_t target) {
    int count = 1;
    for (int round = 0; round < 4; ++round) {
        const std::size_t entries = policy::compile_policy(cluster(count), "node-0").entry_count();
        if (entries == 0 || (entries * 10 >= target * 9 && entries * 10 <= target * 11))
            break;
        count =
            std::max(1, static_cast<int>(static_cast<double>(count) * static_cast<double>(target) /
                                         static_cast<double>(entries)));
    }
    return count;
}

// name -> (CPU seconds per compile, entries). CPU time, not wall time:
// the machines this runs on are shared.
std::map<std::string, std::pair<double, double>> results;

void compile(benchmark::State& state, std::size_t target) {
    const policy::PolicyInput input = cluster(target == 0 ? 0 : policies_for(target));
    std::size_t entries = 0;
    for (auto _ : state) {
        const policy::PolicyState compiled = policy::compile_policy(input, "node-0");
        entries = compiled.entry_count();
        benchmark::DoNotOptimize(entries);
    }
    state.counters["policies"] = static_cast<double>(input.policies.size());
    state.counters["entries"] = static_cast<double>(entries);
    if (entries != 0)
        state.counters["per_entry"] = benchmark::Counter(
            static_cast<double>(entries),
            benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Remembers each benchmark's mean time per compile for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
  public:
    SummaryReporter() : ConsoleReporter(OO_Tabular) {}

    void ReportRuns(const std::vector<Run>& runs) override {
        for (const Run& run : runs)
            if (run.run_type == Run::RT_Iteration && run.iterations > 0) {
                const auto entries = run.counters.find("entries");
                results[run.benchmark_name()] = {
                    run.cpu_accumulated_time / static_cast<double>(run.iterations),
                    entries == run.counters.end() ? 0.0 : entries->second.value};
            }
        ConsoleReporter::ReportRuns(runs);
    }
};

} // namespace

BENCHMARK_CAPTURE(compile, baseline_no_policy, 0)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(compile, entries_10, 10)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(compile, entries_1000, 1000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(compile, entries_100000, 100000)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    const auto baseline = results.find("compile/baseline_no_policy");
    if (baseline == results.end())
        return 0;
    const double fixed = baseline->second.first;
    fmt::print("\nPolicy compile (CPU time), time per entry above the no-policy baseline ({:.3f} "
               "ms: identities and ipcache "
               "of {} pods):\n",
               fixed * 1e3, namespaces * pods_per_namespace);
    const auto reference = results.find("compile/entries_1000");
    const double reference_per_entry =
        reference == results.end() ? 0
                                   : (reference->second.first - fixed) / reference->second.second;
    for (const char* name :
         {"compile/entries_10", "compile/entries_1000", "compile/entries_100000"}) {
        const auto it = results.find(name);
        if (it == results.end() || it->second.second == 0)
            continue;
        const double per_entry = (it->second.first - fixed) / it->second.second;
        fmt::print("  {:<24} {:>8.0f} entries  total x{:.2f} of the baseline", name,
                   it->second.second, it->second.first / fixed);
        if (it->second.second < 100)
            fmt::print("  (too few entries to tell from the baseline)\n");
        else
            fmt::print("  {:.3f} us/entry, x{:.2f} of the 1,000-entry set's\n", per_entry * 1e6,
                       per_entry / reference_per_entry);
    }
    return 0;
}
