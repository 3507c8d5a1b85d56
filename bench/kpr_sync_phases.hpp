// Where kpr-agent's time goes: the agent's sync loop (read the source files
// and decode the objects, build the load-balancer model, write the maps),
// replayed in-process over the same files against a map set of its own, each
// phase timed. The benchmark reports the agent's end-to-end time and, from
// this, the part that is map writes — the counterpart of a rule loader's
// kernel work — so a slow input decoder is not mistaken for a slow data
// path, nor hidden by it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "kpr/k8s/file_source.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/instance_paths.hpp"
#include "kpr/sync/load_balancer_tables.hpp"

namespace kpr::bench {

// Seconds per phase: "read and decode", "model", "map writes".
using PhaseTimes = std::map<std::string, double>;

class KprSyncPhases {
  public:
    // Loads the data path object (not attached anywhere) as instance
    // kprt-<pid>-<tag>, for its maps; reads `source`.
    KprSyncPhases(std::string_view tag, const std::filesystem::path& object, std::filesystem::path source);
    KprSyncPhases(const KprSyncPhases&) = delete;
    KprSyncPhases& operator=(const KprSyncPhases&) = delete;
    // Unpins the instance.
    ~KprSyncPhases();

    // Empties the maps and forgets the files read (untimed), then one timed sync.
    PhaseTimes from_scratch();
    // One timed sync over what changed since the last one.
    PhaseTimes sync();

  private:
    runtime::InstancePaths pins_;
    runtime::DatapathObject object_;
    sync::LoadBalancerTables tables_;
    std::filesystem::path source_;
    std::optional<k8s::FileSource> files_;
};

} // namespace kpr::bench
