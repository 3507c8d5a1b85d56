// What the sync engine has done, as counters a status page and a metrics
// scrape read: events received and applied, the queue of events waiting for
// the next sync (now and at its deepest), syncs run (full and incremental),
// and the latency from an event's arrival to its map update, as percentiles
// over the most recent events. Thread-safe: sources count arrivals from
// their own threads.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace kpr::sync {

using Clock = std::chrono::steady_clock;

struct SyncCountersSnapshot {
    std::uint64_t events_received = 0;
    std::uint64_t events_applied = 0;
    std::uint64_t full_syncs = 0;
    std::uint64_t incremental_syncs = 0;
    std::size_t queue_depth = 0;
    std::size_t max_queue_depth = 0;
    std::chrono::microseconds latency_p50{0};
    std::chrono::microseconds latency_p99{0};
    std::chrono::microseconds latency_max{0};
    std::chrono::microseconds last_sync_duration{0};
};

class SyncCounters {
  public:
    // How many recent latencies the percentiles are taken over.
    static constexpr std::size_t window = 4096;

    void received(std::size_t events = 1) {
        std::lock_guard lock(mutex_);
        s_.events_received += events;
        s_.queue_depth += events;
        s_.max_queue_depth = std::max(s_.max_queue_depth, s_.queue_depth);
    }

    // A sync finished at `done`, taking `duration`, and applied the events
    // that arrived at `arrivals`.
    void synced(bool full, const std::vector<Clock::time_point>& arrivals, Clock::time_point done,
                Clock::duration duration) {
        std::lock_guard lock(mutex_);
        ++(full ? s_.full_syncs : s_.incremental_syncs);
        s_.events_applied += arrivals.size();
        s_.queue_depth -= std::min(s_.queue_depth, arrivals.size());
        s_.last_sync_duration = std::chrono::duration_cast<std::chrono::microseconds>(duration);
        for (const auto arrival : arrivals) {
            const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(done - arrival);
            if (latencies_.size() < window)
                latencies_.push_back(latency);
            else
                latencies_[next_++ % window] = latency;
        }
    }

    SyncCountersSnapshot snapshot() const {
        std::lock_guard lock(mutex_);
        SyncCountersSnapshot out = s_;
        if (!latencies_.empty()) {
            auto sorted = latencies_;
            std::sort(sorted.begin(), sorted.end());
            const auto at = [&](double q) { return sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1))]; };
            out.latency_p50 = at(0.50);
            out.latency_p99 = at(0.99);
            out.latency_max = sorted.back();
        }
        return out;
    }

    // The counters in the Prometheus text format.
    std::string prometheus() const {
        const auto s = snapshot();
        const auto seconds = [](std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1e6; };
        return fmt::format("kpr_sync_events_received_total {}\n"
                           "kpr_sync_events_applied_total {}\n"
                           "kpr_sync_full_syncs_total {}\n"
                           "kpr_sync_incremental_syncs_total {}\n"
                           "kpr_sync_queue_depth {}\n"
                           "kpr_sync_queue_depth_max {}\n"
                           "kpr_sync_event_latency_seconds{{quantile=\"0.5\"}} {}\n"
                           "kpr_sync_event_latency_seconds{{quantile=\"0.99\"}} {}\n"
                           "kpr_sync_event_latency_seconds_max {}\n"
                           "kpr_sync_last_duration_seconds {}\n",
                           s.events_received, s.events_applied, s.full_syncs, s.incremental_syncs, s.queue_depth,
                           s.max_queue_depth, seconds(s.latency_p50), seconds(s.latency_p99), seconds(s.latency_max),
                           seconds(s.last_sync_duration));
    }

  private:
    mutable std::mutex mutex_;
    SyncCountersSnapshot s_;
    std::vector<std::chrono::microseconds> latencies_;
    std::size_t next_ = 0;
};

} // namespace kpr::sync
