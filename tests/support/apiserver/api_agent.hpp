// kpr-agent following the API server stand-in, as the kernel tests drive
// it: one instance (pins named kprt-<pid>-<tag>) attached to a test cgroup,
// reading a kubeconfig for the stand-in, with quick retries and its health
// endpoints on a free loopback port. Destroying it stops the agent and
// takes the instance down.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "testbed/process.hpp"

namespace kpr::testbed::apiserver {

class ApiAgent {
  public:
    ApiAgent(std::string_view tag, std::filesystem::path object, std::filesystem::path cgroup,
             std::filesystem::path kubeconfig);
    ApiAgent(const ApiAgent&) = delete;
    ApiAgent& operator=(const ApiAgent&) = delete;
    ~ApiAgent();

    const std::string& instance() const { return instance_; }

    // Starts `kpr-agent run`; returns at once (the first sync waits for the API).
    void start();
    // The next "synced ..." line of the running agent.
    std::string next_sync();
    // SIGKILL, as an OOM kill would.
    void kill();
    bool running() const { return process_ && process_->running(); }

    // The HTTP status of a health endpoint ("/readyz"); 0 when nothing answers.
    long health(std::string_view path) const;
    // What `kpr-agent status` prints.
    std::string status() const;
    // `kpr-agent show`.
    std::string show() const;

  private:
    std::string instance_;
    std::filesystem::path object_;
    std::filesystem::path cgroup_;
    std::filesystem::path kubeconfig_;
    std::string health_address_;
    std::optional<Process> process_;
};

} // namespace kpr::testbed::apiserver
