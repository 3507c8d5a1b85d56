// kpr-bench-api-sync: how fast kpr-agent takes a large cluster from the API
// server stand-in, and how fast one EndpointSlice change reaches the maps.
//
//   1. Baseline: `kpr-agent run --once` over the same objects as one JSON
//      List file (the file source), wall time and peak RSS.
//   2. `kpr-agent run --kubeconfig` against the stand-in: wall time to the
//      first sync (list, decode, program) and peak RSS (VmHWM) after it.
//   3. Changes: one EndpointSlice at a time gains or loses an endpoint on the
//      server; the time until the pinned service map shows the new backend
//      count, p50 and p99.
// Figures print as a table with ratios to the baseline and to the targets
// (5 s, 150 MB, p99 10 ms). Needs root: kpr-agent attaches to a test cgroup
// this program creates (nothing runs inside it).
#include <bpf/bpf.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "apiserver/fake_api_server.hpp"
#include "apiserver/k8s_json.hpp"
#include "kpr/runtime/instance_paths.hpp"
#include "kpr/sync/address_family.hpp"
#include "testbed/cgroup.hpp"
#include "testbed/command.hpp"
#include "testbed/debris.hpp"
#include "testbed/paths.hpp"
#include "testbed/process.hpp"

namespace {

namespace fs = std::filesystem;
using namespace kpr::testbed;
using namespace kpr::testbed::apiserver;
using Clock = std::chrono::steady_clock;

std::string vip_of(int i) { return fmt::format("10.96.{}.{}", i / 256, i % 256); }

std::string endpoint_of(int j) { return fmt::format("10.{}.{}.{}", 128 + j / 65536, j / 256 % 256, j % 256); }

EndpointSliceSpec slice_of(int i, int endpoints) {
    EndpointSliceSpec s{fmt::format("svc-{:05}-x1", i), fmt::format("svc-{:05}", i), "IPv4", {{"http", 8080}}, {}};
    for (int e = 0; e < std::min(endpoints, 10); ++e)
        s.endpoints.push_back({endpoint_of(i * 10 + e)});
    if (endpoints > 10)
        s.endpoints.push_back({fmt::format("10.200.{}.{}", i / 256, i % 256)});
    return s;
}

ServiceSpec service_of(int i) { return {fmt::format("svc-{:05}", i), {vip_of(i)}, {{"http", 80, "8080"}}, ""}; }

struct Measured {
    double seconds;
    long max_rss_kb;
    int status;
};

// Runs argv to completion; its wall time and peak RSS.
Measured run_measured(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    const auto start = Clock::now();
    pid_t pid = 0;
    if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0)
        throw std::runtime_error(fmt::format("cannot start {}", argv[0]));
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    return {std::chrono::duration<double>(Clock::now() - start).count(), usage.ru_maxrss,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128};
}

long vm_hwm_kb(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("VmHWM:"))
            return std::stol(line.substr(6));
    return 0;
}

double percentile(std::vector<double> values, double q) {
    std::sort(values.begin(), values.end());
    return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
}

} // namespace

namespace {

int run_bench(int services, int changes);

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"kpr-bench-api-sync: initial sync and per-change latency of kpr-agent over the API"};
    int services = 10000;
    int changes = 300;
    app.add_option("--services", services, "Services, each with one EndpointSlice of 10 endpoints")->capture_default_str();
    app.add_option("--changes", changes, "EndpointSlice changes timed one by one")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (geteuid() != 0) {
        fmt::print("skipped: needs CAP_BPF/CAP_NET_ADMIN (run as root)\n");
        return 0;
    }
    // Unwinding stops the agent and removes the cgroup on failure too.
    try {
        return run_bench(services, changes);
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-bench-api-sync: {}\n", e.what());
        return 1;
    }
}

namespace {

int run_bench(int services, int changes) {
    sweep_debris();
    const fs::path dir = fs::temp_directory_path() / test_object_name("bench");
    fs::create_directories(dir);
    TestCgroup cgroup("bench");
    const auto certificates = TestCertificates::generate(dir / "certs");
    ServerOptions options;
    options.history_limit = 1000;
    options.bookmark_interval = std::chrono::seconds(30);
    FakeApiServer server(certificates, options);
    server.write_kubeconfig(dir / "kubeconfig");

    std::vector<std::string> service_objects, slice_objects;
    std::string list = R"({"apiVersion":"v1","kind":"List","items":[)";
    for (int i = 0; i < services; ++i) {
        service_objects.push_back(service_json(service_of(i)));
        slice_objects.push_back(endpoint_slice_json(slice_of(i, 10)));
        list += fmt::format(R"({}{{"kind":"Service","apiVersion":"v1",{},)", i ? "," : "", service_objects.back().substr(1));
        list += fmt::format(R"({{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1",{})", slice_objects.back().substr(1));
    }
    list += "]}\n";
    server.put_all("services", service_objects);
    server.put_all("endpointslices", slice_objects);
    std::ofstream(dir / "objects.json") << list;
    fmt::print("{} Services, {} endpoints; {:.1f} MB as one JSON List\n", services, services * 10,
               static_cast<double>(list.size()) / 1e6);

    const std::string agent(agent_path);
    const std::string file_instance = test_object_name("bench-files");
    const std::string api_instance = test_object_name("bench-api");
    const auto baseline = run_measured({agent, "run", "--once", "--instance", file_instance, "--cgroup",
                                        cgroup.path().string(), "--object", KPR_BENCH_OBJECT, "--source",
                                        (dir / "objects.json").string()});
    try_run({agent, "down", "--instance", file_instance});
    if (baseline.status != 0)
        throw std::runtime_error(fmt::format("the file-source baseline failed with status {}", baseline.status));

    const auto start = Clock::now();
    const std::string health = "127.0.0.1:10299";
    Process api({agent, "run", "--instance", api_instance, "--cgroup", cgroup.path().string(), "--object",
                 KPR_BENCH_OBJECT, "--kubeconfig", (dir / "kubeconfig").string(), "--health-address", health});
    const std::string first = api.expect_line("synced ", std::chrono::seconds(120));
    const double initial = std::chrono::duration<double>(Clock::now() - start).count();
    const long rss_kb = vm_hwm_kb(api.pid());

    const kpr::runtime::InstancePaths pins(api_instance, kpr::runtime::default_bpffs);
    const int map = bpf_obj_get(pins.map("kpr_svc4").c_str());
    if (map < 0)
        throw std::runtime_error("cannot open the pinned service map");
    std::vector<double> latencies_ms;
    for (int k = 0; k < changes; ++k) {
        const int i = (k * 37) % services;
        const int count = k / services % 2 == 0 ? 11 : 10; // each Service grows once, then shrinks
        const kpr::sync::Frontend frontend{*kpr::net::Address::parse(vip_of(i)), 80, kpr::k8s::Protocol::TCP};
        const auto key = kpr::sync::service_key<kpr::sync::Ipv4Maps>(frontend, 0);
        const auto t0 = Clock::now();
        server.put("endpointslices", endpoint_slice_json(slice_of(i, count)));
        for (;;) {
            kpr::layout::ServiceValue value{};
            if (bpf_map_lookup_elem(map, &key, &value) == 0 && value.count == count)
                break;
            if (Clock::now() - t0 > std::chrono::seconds(10))
                throw std::runtime_error(fmt::format("change {} never reached the map", k));
            // Polling without a pause would take a core from the agent on a small machine.
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    ::close(map);
    // The agent's own view: from an event's arrival to its map update.
    const std::string status = run({agent, "status", "--health-address", health});
    api.terminate();
    try_run({agent, "down", "--instance", api_instance});
    fs::remove_all(dir);

    const double p50 = percentile(latencies_ms, 0.5), p99 = percentile(latencies_ms, 0.99);
    fmt::print("\n| measure | value | ratio |\n| --- | --- | --- |\n");
    fmt::print("| initial sync, API (list + decode + program) | {:.2f} s | {:.2f}x the file source, {:.2f}x the 5 s target |\n",
               initial, initial / baseline.seconds, initial / 5.0);
    fmt::print("| initial sync, file source (baseline, --once) | {:.2f} s | 1 |\n", baseline.seconds);
    fmt::print("| peak RSS, API | {:.0f} MB | {:.2f}x the file source, {:.2f}x the 150 MB target |\n", rss_kb / 1024.0,
               static_cast<double>(rss_kb) / static_cast<double>(baseline.max_rss_kb), rss_kb / 1024.0 / 150.0);
    fmt::print("| peak RSS, file source | {:.0f} MB | 1 |\n", baseline.max_rss_kb / 1024.0);
    fmt::print("| EndpointSlice change to map update, p50 ({} changes) | {:.2f} ms | {:.2f}x the 10 ms target |\n",
               changes, p50, p50 / 10.0);
    fmt::print("| EndpointSlice change to map update, p99 | {:.2f} ms | {:.2f}x the 10 ms target |\n", p99, p99 / 10.0);
    fmt::print("\nfirst sync: {}\nthe agent's status after the changes:\n{}", first, status);
    return 0;
}

} // namespace
