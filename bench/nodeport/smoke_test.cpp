// The NodePort benchmarks' smoke runs, so the harnesses cannot rot; the
// full runs are the binaries without --smoke (bench/nodeport/README.md).
// kpr-bench-nodeport --smoke (10 Services, a few hundred connections per
// mode and target): every mode must carry connections through the NodePort
// to several backends without an error, and every mode's ratio to the floor
// must be printed. kpr-bench-nodeport-tc --smoke (a few packets of each
// kind): every packet must get its expected verdict (the harness checks)
// and each row must be printed with its ratio.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testbed/command.hpp"
#include "testbed/debris.hpp"
#include "testbed/privileges.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(BenchSmoke, NodePortEveryModeCarriesConnectionsAndPrintsItsRatio) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    const fs::path out = fs::temp_directory_path() / kpr::testbed::test_object_name("bench-np-smoke");
    const auto run = kpr::testbed::run_unchecked({KPR_BENCH_NODEPORT, "--smoke", "--out", out.string()});
    ASSERT_EQ(run.exit_code, 0) << run.output << run.errors;

    std::ifstream in(out / "nodeport.json");
    const json results = json::parse(in);
    const std::set<std::string> modes(results.at("modes").begin(), results.at("modes").end());
    EXPECT_TRUE(modes.contains("direct"));
    EXPECT_TRUE(modes.contains("kpr"));
    EXPECT_TRUE(modes.contains("iptables-nft"));
    EXPECT_TRUE(modes.contains("nftables"));
    ASSERT_EQ(results.at("sizes").size(), 1u);
    const json& size = results.at("sizes").at(0);
    EXPECT_EQ(size.at("services"), 10);
    EXPECT_FALSE(size.contains("skipped")) << size.at("skipped").dump();
    for (const auto& mode : modes) {
        for (const char* kind : {"nodeport-last", "nodeport-random"}) {
            const json& runs = size.at("traffic").at(kind).at(mode);
            ASSERT_FALSE(runs.empty()) << mode << ' ' << kind;
            for (const json& r : runs) {
                EXPECT_GT(r.at("completed").get<long>(), 250) << mode << ' ' << kind;
                EXPECT_EQ(r.at("errors").get<long>(), 0) << mode << ' ' << kind << ' ' << r.dump();
                // Four backends behind every NodePort: the rules spread.
                EXPECT_GE(r.at("responders").get<int>(), 2) << mode << ' ' << kind;
            }
            if (mode != "direct")
                EXPECT_TRUE(std::regex_search(
                    run.output, std::regex(std::string(kind) + " +" + mode + " +[0-9.]+x \\[[0-9.]+-[0-9.]+\\]")))
                    << mode << ' ' << kind << " ratio missing:\n"
                    << run.output;
        }
    }
    fs::remove_all(out);
}

TEST(BenchSmoke, NodePortTcPrintsNewAndEstablishedFlowsWithRatios) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    const auto run = kpr::testbed::run_unchecked({KPR_BENCH_NODEPORT_TC, "--smoke"});
    ASSERT_EQ(run.exit_code, 0) << run.output << run.errors;
    for (const char* row : {"not a Service \\(baseline\\)", "NodePort, new flow", "NodePort, established"})
        EXPECT_TRUE(std::regex_search(run.output, std::regex(std::string(row) + ": +[0-9.]+ ns/packet +[0-9.]+x")))
            << row << " missing:\n"
            << run.output;
}

} // namespace
