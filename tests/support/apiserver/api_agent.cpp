// Driving kpr-agent over the API server stand-in from the kernel tests.
#include "apiserver/api_agent.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>

#include <fmt/format.h>

#include "kpr/k8s/api/api_client.hpp"
#include "testbed/command.hpp"
#include "testbed/debris.hpp"
#include "testbed/kpr_agent.hpp"
#include "testbed/paths.hpp"

namespace kpr::testbed::apiserver {

namespace {

// A loopback port nothing listens on now.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
        throw std::runtime_error("cannot find a free loopback port");
    ::close(fd);
    return ntohs(address.sin_port);
}

} // namespace

ApiAgent::ApiAgent(std::string_view tag, std::filesystem::path object, std::filesystem::path cgroup,
                   std::filesystem::path kubeconfig)
    : instance_(test_object_name(tag)), object_(std::move(object)), cgroup_(std::move(cgroup)),
      kubeconfig_(std::move(kubeconfig)), health_address_(fmt::format("127.0.0.1:{}", free_port())) {}

ApiAgent::~ApiAgent() {
    process_.reset();
    try_run({std::string(agent_path), "down", "--instance", instance_});
}

void ApiAgent::start() {
    process_.emplace(std::vector<std::string>{std::string(agent_path), "run", "--instance", instance_, "--cgroup",
                                              cgroup_.string(), "--object", object_.string(), "--kubeconfig",
                                              kubeconfig_.string(), "--health-address", health_address_,
                                              "--watch-backoff-ms", "50", "--watch-backoff-max-ms", "500"});
}

std::string ApiAgent::next_sync() {
    if (!process_)
        throw std::logic_error("the agent is not running");
    return process_->expect_line("synced ", agent_timeout);
}

void ApiAgent::kill() {
    ::kill(process_->pid(), SIGKILL);
    process_->wait(agent_timeout);
    process_.reset();
}

long ApiAgent::health(std::string_view path) const {
    k8s::api::ApiConfig config;
    config.server = fmt::format("http://{}", health_address_);
    k8s::api::ApiClient client(config);
    return client.get(path, std::chrono::seconds(2)).status;
}

std::string ApiAgent::status() const {
    return run({std::string(agent_path), "status", "--health-address", health_address_});
}

std::string ApiAgent::show() const { return run({std::string(agent_path), "show", "--instance", instance_}); }

} // namespace kpr::testbed::apiserver
