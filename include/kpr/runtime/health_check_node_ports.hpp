// The healthCheckNodePort servers: for each Service with
// externalTrafficPolicy Local and a healthCheckNodePort, an HTTP listener on
// each node address at that port, answering any GET as kube-proxy does —
// 200 with the number of this node's ready endpoints while there is one,
// 503 when there is none — so a cloud load balancer sends the Service's
// traffic only to nodes that can serve it locally. Listeners open and close
// as Services come and go; counts change in place.
#pragma once

#include <httplib.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/object_meta.hpp"
#include "kpr/net/address.hpp"
#include "kpr/runtime/error.hpp"

namespace kpr::runtime {

struct ServiceHealth {
    k8s::ObjectKey service;
    std::uint16_t port = 0;
    std::size_t local_endpoints = 0;
};

// kube-proxy's body: {"service":{"namespace":..,"name":..},"localEndpoints":N,"serviceProxyHealthy":true}
inline std::string health_check_body(const k8s::ObjectKey& service, std::size_t local_endpoints) {
    // Namespaces and names are DNS labels and subdomains: nothing to escape.
    return fmt::format(R"({{"service":{{"namespace":"{}","name":"{}"}},"localEndpoints":{},"serviceProxyHealthy":true}})",
                       service.namespace_, service.name, local_endpoints);
}

class HealthCheckNodePorts {
  public:
    explicit HealthCheckNodePorts(std::vector<net::Address> addresses) : addresses_(std::move(addresses)) {}

    HealthCheckNodePorts(const HealthCheckNodePorts&) = delete;
    HealthCheckNodePorts& operator=(const HealthCheckNodePorts&) = delete;

    // Serves exactly these; returns a line per listener it could not open
    // (the port taken by something else), tried again on the next update.
    std::vector<std::string> update(const std::vector<ServiceHealth>& wanted) {
        std::vector<std::string> problems;
        std::map<std::uint16_t, const ServiceHealth*> by_port;
        for (const auto& w : wanted)
            by_port.emplace(w.port, &w);
        for (auto it = ports_.begin(); it != ports_.end();)
            it = by_port.contains(it->first) ? std::next(it) : ports_.erase(it);
        for (const auto& [port, health] : by_port) {
            auto& listener = ports_[port];
            if (!listener)
                listener = std::make_unique<Listener>();
            listener->set(health->service, health->local_endpoints);
            for (const auto& address : addresses_)
                if (!listener->serves(address))
                    if (auto why = listener->open(address, port))
                        problems.push_back(*why);
        }
        return problems;
    }

    std::size_t listening() const {
        std::size_t n = 0;
        for (const auto& [port, listener] : ports_)
            n += listener->sockets();
        return n;
    }

  private:
    // One Service's port, on each node address.
    class Listener {
      public:
        void set(const k8s::ObjectKey& service, std::size_t local_endpoints) {
            const std::lock_guard lock(mutex_);
            service_ = service;
            local_endpoints_ = local_endpoints;
        }

        bool serves(const net::Address& a) const { return servers_.contains(a); }
        std::size_t sockets() const { return servers_.size(); }

        // Why it could not listen there, if it could not.
        std::optional<std::string> open(const net::Address& address, std::uint16_t port) {
            auto server = std::make_unique<Served>();
            // One worker: a load balancer's probe is a request every few seconds.
            server->http.new_task_queue = [] { return new httplib::ThreadPool(1); };
            server->http.set_keep_alive_max_count(1);
            server->http.Get(".*", [this](const httplib::Request&, httplib::Response& r) { answer(r); });
            if (!server->http.bind_to_port(address.str(), port))
                return fmt::format("healthCheckNodePort {}: cannot listen on {}", port, address.with_port(port));
            server->thread = std::thread([s = server.get()] { s->http.listen_after_bind(); });
            servers_.emplace(address, std::move(server));
            return std::nullopt;
        }

      private:
        struct Served {
            httplib::Server http;
            std::thread thread;
            ~Served() {
                http.stop();
                if (thread.joinable())
                    thread.join();
            }
        };

        void answer(httplib::Response& r) const {
            const std::lock_guard lock(mutex_);
            r.status = local_endpoints_ > 0 ? 200 : 503;
            r.set_header("X-Content-Type-Options", "nosniff");
            r.set_content(health_check_body(service_, local_endpoints_), "application/json");
        }

        mutable std::mutex mutex_;
        k8s::ObjectKey service_;
        std::size_t local_endpoints_ = 0;
        // Declared last: stopped and joined before the state they read goes.
        std::map<net::Address, std::unique_ptr<Served>> servers_;
    };

    std::vector<net::Address> addresses_;
    std::map<std::uint16_t, std::unique_ptr<Listener>> ports_;
};

} // namespace kpr::runtime
