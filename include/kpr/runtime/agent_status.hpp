// What a running agent reports about itself: which source it follows, whether
// it has completed its first full sync (readiness), its last sync, the
// source's own details (for the API: each resource's resourceVersion and
// reconnects), the sync counters and, with a TC data path, its policy
// sync counts and drop counters (also in /metrics). Written by the agent's loop, read by
// the health server's thread.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "kpr/sync/sync_counters.hpp"

namespace kpr::runtime {

struct SyncRecord {
    unsigned generation = 0;
    std::size_t frontends = 0;
    std::size_t problems = 0;
    bool full = true;
    std::chrono::system_clock::time_point at;
};

class AgentStatus {
  public:
    AgentStatus(std::string source, const sync::SyncCounters& counters)
        : source_(std::move(source)), counters_(counters) {}

    // Lines about the source, asked for on each report.
    void set_source_details(std::function<std::string()> details) {
        std::lock_guard lock(mutex_);
        details_ = std::move(details);
    }

    // The TC data path's lines for the report, and its metrics.
    void set_pod_datapath(std::function<std::string()> report, std::function<std::string()> metrics) {
        std::lock_guard lock(mutex_);
        pod_report_ = std::move(report);
        pod_metrics_ = std::move(metrics);
    }

    // The sync counters and the TC data path's, in the Prometheus text format.
    std::string metrics() const {
        std::function<std::string()> pod;
        {
            std::lock_guard lock(mutex_);
            pod = pod_metrics_;
        }
        return counters_.prometheus() + (pod ? pod() : "");
    }

    void synced(const SyncRecord& record) {
        std::lock_guard lock(mutex_);
        if (!first_full_ && record.full)
            first_full_ = record.at;
        last_ = record;
    }

    bool ready() const {
        std::lock_guard lock(mutex_);
        return first_full_.has_value();
    }

    std::string report() const {
        std::lock_guard lock(mutex_);
        const auto time = [](std::chrono::system_clock::time_point t) {
            return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", std::chrono::time_point_cast<std::chrono::seconds>(t));
        };
        std::string out = fmt::format("source: {}\n", source_);
        out += first_full_ ? fmt::format("ready: yes, first full sync at {}\n", time(*first_full_))
                           : "ready: no, the first full sync has not happened yet\n";
        if (last_)
            out += fmt::format("last sync: {} generation={} frontends={} problems={} ({})\n", time(last_->at),
                               last_->generation, last_->frontends, last_->problems,
                               last_->full ? "full" : "incremental");
        if (details_)
            out += details_();
        if (pod_report_)
            out += pod_report_();
        const auto c = counters_.snapshot();
        out += fmt::format("events: received={} applied={} queued={} (at most {}); syncs: full={} incremental={}\n",
                           c.events_received, c.events_applied, c.queue_depth, c.max_queue_depth, c.full_syncs,
                           c.incremental_syncs);
        out += fmt::format("event to map update: p50={:.3f}ms p99={:.3f}ms max={:.3f}ms\n", c.latency_p50.count() / 1e3,
                           c.latency_p99.count() / 1e3, c.latency_max.count() / 1e3);
        return out;
    }

  private:
    mutable std::mutex mutex_;
    std::string source_;
    const sync::SyncCounters& counters_;
    std::function<std::string()> details_;
    std::function<std::string()> pod_report_;
    std::function<std::string()> pod_metrics_;
    std::optional<std::chrono::system_clock::time_point> first_full_;
    std::optional<SyncRecord> last_;
};

} // namespace kpr::runtime
