// A way of load balancing the benchmark's Services, compared side by side:
// kpr, kube-proxy's iptables layout (nft and legacy back ends), kube-proxy's
// nftables layout, and no load balancer at all (the floor). Each mode owns
// its emulated node and the cgroup its client runs in.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_cluster.hpp"
#include "bench_node.hpp"
#include "testbed/cgroup.hpp"

namespace kpr::bench {

// A control-plane step's time; a step past the cap is stopped and reported cut off.
struct Timing {
    double seconds = 0;
    bool cut_off = false;
    // Seconds per phase, where the mode can tell them apart (kpr).
    std::map<std::string, double> phases;
};

// What a client sends to: Service VIPs, or the node's NodePorts (as an
// external client does).
enum class TargetSet { last_tcp, random_tcp, last_udp, last_node_port, random_node_port };

struct Target {
    std::string address;
    std::uint16_t port;
};

struct ModeSettings {
    std::chrono::milliseconds cap;      // longest a programming step may take
    std::filesystem::path scratch_dir; // for rule files and staged objects
};

class Mode {
  public:
    Mode(std::string name, std::string tag, ModeSettings settings);
    virtual ~Mode() = default;

    const std::string& name() const { return name_; }
    const BenchNode& node() const { return node_; }
    const testbed::TestCgroup& client_cgroup() const { return client_cgroup_; }

    // Programs the cluster from nothing: whatever an earlier size left is
    // removed first (untimed), then the timed step.
    virtual Timing program(const BenchCluster& cluster) = 0;
    // Applies the one endpoint change (the cluster's last Service moves its
    // endpoint 0); each way the mode can do it, by name. With full_resync,
    // also the full resync a mode may fall back to (iptables: a full
    // restore), which costs as much as programming from scratch.
    virtual std::map<std::string, Timing> change_endpoint(const BenchCluster& before, const BenchCluster& after,
                                                          bool full_resync) = 0;
    // Kernel memory held by the rules or maps the last program() made;
    // nullopt when it cannot be measured here.
    virtual std::optional<std::uint64_t> memory_bytes() const = 0;
    // Where the client connects: the Services' VIPs or NodePorts, unless overridden.
    virtual std::vector<Target> targets(const BenchCluster& cluster, TargetSet set) const;

  protected:
    const ModeSettings& settings() const { return settings_; }

  private:
    std::string name_;
    ModeSettings settings_;
    BenchNode node_;
    testbed::TestCgroup client_cgroup_;
};

// The modes; each names its namespaces and cgroups kprt-<pid>-b<mode>-*.
std::unique_ptr<Mode> make_direct_mode(ModeSettings settings);
std::unique_ptr<Mode> make_kpr_mode(ModeSettings settings, const std::filesystem::path& datapath_object);
// backend: "nft" or "legacy", as the iptables-<backend>-restore binary is named.
std::unique_ptr<Mode> make_iptables_mode(ModeSettings settings, const std::string& backend);
std::unique_ptr<Mode> make_nftables_mode(ModeSettings settings);

} // namespace kpr::bench
