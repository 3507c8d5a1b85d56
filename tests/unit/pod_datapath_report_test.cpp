// The TC side's report lines: /status and `kpr-agent show` name every drop
// reason with its total, /metrics carries them labelled by reason, next to
// the policy sync counts.
#include <gtest/gtest.h>

#include "kpr/runtime/pod_datapath.hpp"

namespace kpr::runtime {
namespace {

TEST(PodDatapathReport, NamesEveryDropReasonAndTheSyncCounts) {
    PodSyncCounters c;
    c.endpoints = 2;
    c.policy_entries = 5;
    c.syncs = 3;
    c.revisions_bumped = 1;
    std::vector<std::uint64_t> drops(layout::drop_reason_count);
    const auto denied = static_cast<std::size_t>(layout::DropReason::policy_denied_ingress);
    drops[denied] = 7;

    const auto status = describe_pod_datapath(c, drops);
    EXPECT_NE(status.find("pod policy: endpoints=2 policy_entries=5 ipcache_entries=0; syncs=3 written=0 removed=0 "
                          "revisions_bumped=1"),
              std::string::npos)
        << status;
    for (const auto& info : layout::drop_reasons)
        EXPECT_NE(status.find(fmt::format("drops {}: ", info.name)), std::string::npos) << info.name;
    EXPECT_NE(status.find("drops policy_denied_ingress: 7 ("), std::string::npos) << status;

    const auto metrics = pod_datapath_metrics(c, drops);
    EXPECT_NE(metrics.find("kpr_policy_endpoints 2\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("kpr_policy_revisions_bumped_total 1\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("kpr_drops_total{reason=\"policy_denied_ingress\"} 7\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("kpr_drops_total{reason=\"truncated_ipv4\"} 0\n"), std::string::npos) << metrics;
}

} // namespace
} // namespace kpr::runtime
