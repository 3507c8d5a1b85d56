// kpr-agent as the kernel tests and the demo drive it: one instance (its
// pins under bpffs named kprt-<pid>-<tag>) attached to a test cgroup, fed
// from a source directory of its own. Files are written atomically (staged
// outside the watched directory, then renamed in), so each write is one
// change the running agent answers with one "synced ..." line. Destroying
// it stops the agent and takes the instance down.
//
// With PodPolicy the agent also loads the TC object and enforces
// NetworkPolicy on a Topology's pods: it then runs inside the topology's
// node namespace (nsenter, as a DaemonSet runs in its node's), so it finds
// the pods' veths by their host routes there; `down` and `show` run there
// too.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "testbed/command.hpp"
#include "testbed/netns.hpp"
#include "testbed/process.hpp"

namespace kpr::testbed {

inline constexpr std::chrono::seconds agent_timeout{20};

// The agent's TC side: --tc-object, --node-name, --node-address, and
// --external-interface for the north-south path.
struct PodPolicy {
    std::filesystem::path tc_object;
    const NetNs* node = nullptr; // where the pods' veths are (Topology::node())
    std::string node_name = "node";
    std::vector<std::string> node_addresses;
    std::vector<std::string> external_interfaces = {};
};

class KprAgent {
  public:
    KprAgent(std::string_view tag, std::filesystem::path object, std::filesystem::path cgroup,
             std::optional<PodPolicy> pod_policy = std::nullopt);
    KprAgent(const KprAgent&) = delete;
    KprAgent& operator=(const KprAgent&) = delete;
    ~KprAgent();

    const std::string& instance() const { return instance_; }
    const std::filesystem::path& source_dir() const { return source_dir_; }

    void write(std::string_view file, const std::string& yaml) const;
    void remove(std::string_view file) const;

    // Starts `kpr-agent run` and returns its first "synced ..." line.
    std::string start();
    // The next "synced ..." line of the running agent.
    std::string next_sync();
    // Writes a file and returns the sync that follows.
    std::string apply(std::string_view file, const std::string& yaml);
    // SIGTERM and wait for a clean exit; the data path stays attached.
    int stop();
    // SIGKILL, as an OOM kill or a node problem would.
    void kill();
    bool running() const { return process_ && process_->running(); }

    // `kpr-agent run --once` over the same instance and sources.
    CommandResult run_once() const;
    // `kpr-agent show`.
    std::string show() const;

  private:
    std::vector<std::string> run_command() const;
    // argv inside the node namespace when the agent has a TC side.
    std::vector<std::string> where_pods_are(std::vector<std::string> argv) const;

    std::string instance_;
    std::filesystem::path object_;
    std::filesystem::path cgroup_;
    std::filesystem::path source_dir_;
    std::filesystem::path staging_dir_;
    std::optional<PodPolicy> pod_policy_;
    std::optional<Process> process_;
};

// The value of key=<value> in a "synced ..." line, e.g. sync_field(line, "problems").
int sync_field(std::string_view synced_line, std::string_view key);

// The number after label in `kpr-agent show`'s output, e.g.
// shown_count(shown, "drops policy_denied_ingress: "); -1 when absent.
long shown_count(std::string_view shown, std::string_view label);

} // namespace kpr::testbed
