// The TC policy benchmark's smoke run (kpr-bench-tc-policy --smoke: a few
// packets of each kind): it must build and load both objects, get the
// expected verdicts (the harness checks them) and print every row of both
// tables with a ratio. The full run is the binary without --smoke.
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "testbed/command.hpp"
#include "testbed/privileges.hpp"

namespace {

TEST(BenchSmoke, TcPolicyPrintsEveryRowWithItsRatio) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    const auto run = kpr::testbed::run_unchecked({KPR_BENCH_TC_POLICY, "--smoke"});
    ASSERT_EQ(run.exit_code, 0) << run.output << run.errors;
    for (const char* size : {"10", "1000", "100000"})
        EXPECT_TRUE(std::regex_search(
            run.output, std::regex(std::string("\\b") + size +
                                   " policy entries: +[0-9.]+ ns/packet +[0-9.]+x of 10 entries")))
            << size << " missing:\n"
            << run.output;
    EXPECT_TRUE(std::regex_search(run.output, std::regex("matching rule +1: unrolled .*x")))
        << run.output;
    EXPECT_TRUE(std::regex_search(run.output, std::regex("matching rule +20: unrolled .*x")))
        << run.output;
}

} // namespace
