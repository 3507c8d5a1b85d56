// The agent's sync loop (runtime/node_agent.hpp), one phase at a time.
#include "kpr_sync_phases.hpp"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

#include "kpr/runtime/cgroup_attachment.hpp"
#include "kpr/sync/load_balancer_model.hpp"
#include "testbed/debris.hpp"

namespace kpr::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

KprSyncPhases::KprSyncPhases(std::string_view tag, const std::filesystem::path& object, std::filesystem::path source)
    : pins_(testbed::test_object_name(tag), runtime::default_bpffs),
      object_(runtime::DatapathObject::load(object, pins_)),
      tables_([this](std::string_view name) { return object_.map_fd(name); }), source_(std::move(source)) {}

KprSyncPhases::~KprSyncPhases() {
    try {
        runtime::remove_instance(pins_);
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-bench: could not unpin {}: {}\n", pins_.root().string(), e.what());
    }
}

PhaseTimes KprSyncPhases::from_scratch() {
    tables_.programmer().apply(sync::LoadBalancerModel{});
    files_.emplace(std::vector<std::filesystem::path>{source_});
    return sync();
}

PhaseTimes KprSyncPhases::sync() {
    PhaseTimes times;
    auto start = Clock::now();
    const auto problems = files_->reload();
    times["read and decode"] = seconds_since(start);
    start = Clock::now();
    const auto model = sync::build_model(files_->state(), {});
    times["model"] = seconds_since(start);
    start = Clock::now();
    const auto report = tables_.programmer().apply(model);
    times["map writes"] = seconds_since(start);
    if (!problems.empty() || !report.problems.empty())
        throw std::runtime_error(fmt::format("kpr: replaying the agent's sync found problems, e.g. {}",
                                             (problems.empty() ? report.problems : problems).front().str()));
    return times;
}

} // namespace kpr::bench
