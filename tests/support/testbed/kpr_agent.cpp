// Driving kpr-agent from tests and the demo.
#include "testbed/kpr_agent.hpp"

#include <csignal>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "testbed/debris.hpp"
#include "testbed/paths.hpp"

namespace kpr::testbed {

namespace fs = std::filesystem;

KprAgent::KprAgent(std::string_view tag, fs::path object, fs::path cgroup, std::optional<PodPolicy> pod_policy)
    : instance_(test_object_name(tag)), object_(std::move(object)), cgroup_(std::move(cgroup)),
      source_dir_(fs::temp_directory_path() / (instance_ + "-source")),
      staging_dir_(fs::temp_directory_path() / (instance_ + "-staging")), pod_policy_(std::move(pod_policy)) {
    if (pod_policy_ && !pod_policy_->node)
        throw std::invalid_argument("PodPolicy needs the node namespace its pods' veths are in");
    fs::remove_all(source_dir_);
    fs::remove_all(staging_dir_);
    fs::create_directories(source_dir_);
    fs::create_directories(staging_dir_);
}

KprAgent::~KprAgent() {
    process_.reset();
    try_run(where_pods_are({std::string(agent_path), "down", "--instance", instance_}));
    std::error_code ignored;
    fs::remove_all(source_dir_, ignored);
    fs::remove_all(staging_dir_, ignored);
}

void KprAgent::write(std::string_view file, const std::string& yaml) const {
    const auto staged = staging_dir_ / file;
    {
        std::ofstream out(staged, std::ios::trunc);
        out << yaml;
        if (!out.flush())
            throw std::runtime_error(fmt::format("cannot write {}", staged.string()));
    }
    fs::rename(staged, source_dir_ / file);
}

void KprAgent::remove(std::string_view file) const { fs::remove(source_dir_ / file); }

std::vector<std::string> KprAgent::where_pods_are(std::vector<std::string> argv) const {
    return pod_policy_ ? pod_policy_->node->enter(argv) : argv;
}

std::vector<std::string> KprAgent::run_command() const {
    std::vector<std::string> argv{std::string(agent_path), "run",      "--instance",     instance_,
                                  "--cgroup",              cgroup_.string(), "--object", object_.string(),
                                  "--source",              source_dir_.string()};
    if (pod_policy_) {
        argv.insert(argv.end(), {"--tc-object", pod_policy_->tc_object.string(), "--node-name", pod_policy_->node_name});
        for (const auto& address : pod_policy_->node_addresses)
            argv.insert(argv.end(), {"--node-address", address});
        for (const auto& interface : pod_policy_->external_interfaces)
            argv.insert(argv.end(), {"--external-interface", interface});
    }
    return where_pods_are(std::move(argv));
}

std::string KprAgent::start() {
    process_.emplace(run_command());
    return next_sync();
}

std::string KprAgent::next_sync() {
    if (!process_)
        throw std::logic_error("the agent is not running");
    return process_->expect_line("synced ", agent_timeout);
}

std::string KprAgent::apply(std::string_view file, const std::string& yaml) {
    write(file, yaml);
    return next_sync();
}

int KprAgent::stop() {
    ::kill(process_->pid(), SIGTERM);
    const int status = process_->wait(agent_timeout);
    process_.reset();
    return status;
}

void KprAgent::kill() {
    ::kill(process_->pid(), SIGKILL);
    process_->wait(agent_timeout);
    process_.reset();
}

CommandResult KprAgent::run_once() const {
    auto argv = run_command();
    argv.push_back("--once");
    return run_unchecked(argv);
}

std::string KprAgent::show() const {
    return run(where_pods_are({std::string(agent_path), "show", "--instance", instance_}));
}

int sync_field(std::string_view line, std::string_view key) {
    const auto needle = fmt::format(" {}=", key);
    const auto at = line.find(needle);
    if (at == std::string_view::npos)
        throw std::runtime_error(fmt::format("no {} in \"{}\"", key, line));
    return std::stoi(std::string(line.substr(at + needle.size())));
}

long shown_count(std::string_view shown, std::string_view label) {
    const auto at = shown.find(label);
    return at == std::string_view::npos ? -1 : std::stol(std::string(shown.substr(at + label.size())));
}

} // namespace kpr::testbed
