// kpr as a benchmark mode: kpr-agent attached to the client's cgroup, fed
// the cluster's Services and EndpointSlices through its file source. The
// time to program is from the moment the files appear in the agent's source
// directory until the agent reports the sync that holds them all, so it
// includes reading and decoding the objects, not only the map writes; the
// same sync replayed in-process (KprSyncPhases) times each phase.
#include <nlohmann/json.hpp>

#include <filesystem>

#include <fmt/format.h>

#include "interruption.hpp"
#include "kpr_objects.hpp"
#include "kpr_sync_phases.hpp"
#include "mode.hpp"
#include "rule_loader.hpp"
#include "testbed/command.hpp"
#include "testbed/kpr_agent.hpp"

namespace kpr::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Every Service but the last in one file; the last, whose endpoint changes,
// in a file of its own, so the change rereads one small file.
constexpr std::string_view bulk_file = "a-services.yaml";
constexpr std::string_view last_file = "z-last-service.yaml";

class KprMode final : public Mode {
  public:
    KprMode(ModeSettings settings, const fs::path& object)
        : Mode("kpr", "bkpr", std::move(settings)), agent_("bkpr-agent", object, client_cgroup().path()),
          staging_(this->settings().scratch_dir / "kpr-staging"),
          phases_("bkpr-phases", object, agent_.source_dir()) {
        fs::create_directories(staging_);
        agent_.start();
    }

    Timing program(const BenchCluster& cluster) override {
        if (fs::exists(agent_.source_dir() / bulk_file)) {
            agent_.remove(bulk_file);
            agent_.remove(last_file);
            wait_for_frontends(0, Clock::now());
        }
        stage(bulk_file, kpr_objects_yaml(cluster, 0, cluster.last()));
        stage(last_file, kpr_objects_yaml(cluster, cluster.last(), cluster.services));
        const auto start = Clock::now();
        publish(bulk_file);
        publish(last_file);
        Timing t = wait_for_frontends(frontend_count(cluster), start);
        if (!t.cut_off)
            t.phases = phases_.from_scratch();
        return t;
    }

    std::map<std::string, Timing> change_endpoint(const BenchCluster&, const BenchCluster& after, bool) override {
        stage(last_file, kpr_objects_yaml(after, after.last(), after.services));
        const auto start = Clock::now();
        publish(last_file);
        // A sync that wrote nothing answers a wake from before the change
        // (inotify can deliver the previous publish's rename late); the
        // change is the first sync that writes. None within the agent's
        // timeout means it was never written.
        std::string line;
        do
            line = agent_.next_sync();
        while (testbed::sync_field(line, "written") == 0 && testbed::sync_field(line, "problems") == 0);
        const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (testbed::sync_field(line, "problems") != 0)
            throw std::runtime_error("kpr: the endpoint change was not written: " + line);
        return {{"agent sync", {seconds, false, phases_.sync()}}};
    }

    // What the kernel reports for the instance's maps (preallocated hash
    // maps: fixed by the schema's capacities, whatever the number of Services).
    std::optional<std::uint64_t> memory_bytes() const override {
        std::uint64_t total = 0;
        for (const auto& map : fs::directory_iterator(fs::path("/sys/fs/bpf/kpr") / agent_.instance() / "maps")) {
            const auto shown = nlohmann::json::parse(
                testbed::run({"bpftool", "--json", "map", "show", "pinned", map.path().string()}));
            total += shown.at("bytes_memlock").get<std::uint64_t>();
        }
        return total;
    }

  private:
    static int frontend_count(const BenchCluster& cluster) {
        int n = 0;
        for (int i = 0; i < cluster.services; ++i)
            n += static_cast<int>(cluster.ports(i).size());
        return n;
    }

    void stage(std::string_view file, const std::string& yaml) const {
        write_rules_file(staging_, file, yaml);
    }
    // Renaming makes each file appear whole, as one change.
    void publish(std::string_view file) const { fs::rename(staging_ / file, agent_.source_dir() / file); }

    // Reads sync lines until one reports `frontends`; past the cap it is cut off.
    Timing wait_for_frontends(int frontends, Clock::time_point start) {
        for (;;) {
            check_interruption();
            std::string line;
            try {
                line = agent_.next_sync();
            } catch (const std::runtime_error&) {
                // No sync within the agent timeout: still working, or stuck.
                if (!agent_.running() || Clock::now() - start > settings().cap)
                    return {std::chrono::duration<double>(settings().cap).count(), true, {}};
                continue;
            }
            if (testbed::sync_field(line, "problems") != 0)
                throw std::runtime_error("kpr: the agent found problems in the benchmark's objects: " + line);
            if (testbed::sync_field(line, "frontends") == frontends)
                return {std::chrono::duration<double>(Clock::now() - start).count(), false, {}};
        }
    }

    testbed::KprAgent agent_;
    fs::path staging_;
    KprSyncPhases phases_;
};

} // namespace

std::unique_ptr<Mode> make_kpr_mode(ModeSettings settings, const fs::path& datapath_object) {
    return std::make_unique<KprMode>(std::move(settings), datapath_object);
}

} // namespace kpr::bench
