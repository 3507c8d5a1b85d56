// The benchmark's smoke run (kpr-bench --smoke: 10 Services, a few hundred
// exchanges per mode): every mode must have programmed its rules or maps,
// carried traffic to real backends without errors and applied the endpoint
// change, and the report (JSON, Markdown, plots) must have been written.
// The full run is scripts/bench; this only keeps the harness from rotting.
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testbed/command.hpp"
#include "testbed/debris.hpp"
#include "testbed/privileges.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_png(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[8] = {};
    in.read(magic, sizeof magic);
    return in && std::string(magic, 8) == "\x89PNG\r\n\x1a\n";
}

TEST(BenchSmoke, EveryModeCarriesTrafficAndTheReportIsWritten) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    const fs::path out = fs::temp_directory_path() / kpr::testbed::test_object_name("bench-smoke");
    const auto run = kpr::testbed::run_unchecked({KPR_BENCH_PATH, "--smoke", "--out", out.string()});
    ASSERT_EQ(run.exit_code, 0) << run.output << run.errors;

    std::ifstream in(out / "results.json");
    const json results = json::parse(in);
    const std::set<std::string> modes(results.at("modes").begin(), results.at("modes").end());
    EXPECT_EQ(modes, (std::set<std::string>{"direct", "kpr", "iptables-nft", "iptables-legacy", "nftables"}));

    ASSERT_EQ(results.at("sizes").size(), 1u);
    const json& size = results.at("sizes").at(0);
    EXPECT_EQ(size.at("services"), 10);
    EXPECT_FALSE(size.contains("skipped")) << size.at("skipped").dump();
    for (const auto& mode : modes) {
        const json& program = size.at("program").at(mode);
        EXPECT_FALSE(program.at("cut_off")) << mode;
        // The rule loaders' memory is read from a cgroup v1 memory controller, where there is one.
        if (mode == "kpr" || mode == "direct" || fs::exists("/sys/fs/cgroup/memory/memory.kmem.usage_in_bytes"))
            EXPECT_TRUE(program.contains("memory_bytes")) << mode;
        if (mode == "kpr")
            EXPECT_GT(program.at("phases").at("map writes").get<double>(), 0);
        for (const char* kind : {"tcp-last", "tcp-random", "udp-last"}) {
            for (const json& run : size.at("traffic").at(kind).at(mode)) {
                EXPECT_GT(run.at("completed").get<long>(), 250) << mode << ' ' << kind;
                EXPECT_EQ(run.at("errors").get<long>(), 0) << mode << ' ' << kind << ' ' << run.dump();
                // Four backends behind every Service: a load balancer spreads.
                EXPECT_GE(run.at("responders").get<int>(), 2) << mode << ' ' << kind;
            }
        }
    }
    for (const auto& [mode, ways] :
         std::map<std::string, std::vector<std::string>>{{"kpr", {"agent sync"}},
                                                         {"iptables-nft", {"partial restore", "full restore"}},
                                                         {"iptables-legacy", {"partial restore", "full restore"}},
                                                         {"nftables", {"transaction"}}})
        for (const auto& how : ways) {
            const json& changes = size.at("endpoint_change").at(mode).at(how);
            // Two changes; the full restore only with the first.
            EXPECT_EQ(changes.size(), how == "full restore" ? 1u : 2u) << mode << ' ' << how;
            for (const json& change : changes)
                EXPECT_FALSE(change.at("cut_off")) << mode << ' ' << how;
        }

    std::ifstream markdown(out / "results.md");
    const std::string table((std::istreambuf_iterator<char>(markdown)), std::istreambuf_iterator<char>());
    for (const auto& mode : modes)
        EXPECT_NE(table.find(mode), std::string::npos) << mode << " missing from results.md";
    for (const char* plot : {"setup_rate.png", "latency.png", "control_plane.png"})
        EXPECT_TRUE(is_png(out / plot)) << plot;
    fs::remove_all(out);
}

} // namespace
