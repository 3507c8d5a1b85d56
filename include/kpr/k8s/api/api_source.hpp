// The Kubernetes API as a source of the typed cluster state: one reflector
// thread per resource the agent consumes (Services and EndpointSlices, and
// with the TC data path Pods, Namespaces, NetworkPolicies and Nodes too), each
// object decoded by the same decoders as the file source, the changes
// coalesced into sync::PendingChanges, and an eventfd that wakes the agent
// when there is something to sync.
//
// Bad objects lose nothing: an object that fails to decode keeps its
// previous version (a new one is not added), and the problem is logged with
// the object and field. A relist replaces the state in one step when it is
// complete, so the agent never syncs from half a list; objects that did not
// change are not counted as changes.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/api/json_document.hpp"
#include "kpr/k8s/api/reflector.hpp"
#include "kpr/k8s/cluster_state.hpp"
#include "kpr/k8s/yaml_decode.hpp"
#include "kpr/runtime/error.hpp"
#include "kpr/runtime/unique_fd.hpp"
#include "kpr/sync/pending_changes.hpp"
#include "kpr/sync/sync_counters.hpp"

namespace kpr::k8s::api {

// The resources the agent may request: what its data paths consume (the
// socket load balancer the first two, the TC data path's policy the rest).
// The RBAC manifest grants exactly get, list and watch on these (a test
// checks).
inline constexpr std::array agent_resources{services, endpoint_slices, pods, namespaces, network_policies, nodes};

class ApiSource {
  public:
    // with_policy_objects: also Pods, Namespaces, NetworkPolicies and Nodes.
    ApiSource(const ApiConfig& config, ReflectorOptions options, LogFn log, sync::SyncCounters& counters,
              bool with_policy_objects = false)
        : log_(std::move(log)), counters_(counters), wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
          service_store_(*this, services, &ClusterState::services),
          slice_store_(*this, endpoint_slices, &ClusterState::endpoint_slices),
          pod_store_(*this, pods, &ClusterState::pods), namespace_store_(*this, namespaces, &ClusterState::namespaces),
          policy_store_(*this, network_policies, &ClusterState::network_policies),
          node_store_(*this, nodes, &ClusterState::nodes) {
        if (!wake_)
            throw runtime::Error(fmt::format("eventfd: {}", runtime::errno_text(errno)));
        reflectors_.push_back(std::make_unique<Reflector>(config, services, service_store_, options, log_));
        reflectors_.push_back(std::make_unique<Reflector>(config, endpoint_slices, slice_store_, options, log_));
        stores_ = {&service_store_, &slice_store_};
        if (with_policy_objects) {
            reflectors_.push_back(std::make_unique<Reflector>(config, pods, pod_store_, options, log_));
            reflectors_.push_back(std::make_unique<Reflector>(config, namespaces, namespace_store_, options, log_));
            reflectors_.push_back(std::make_unique<Reflector>(config, network_policies, policy_store_, options, log_));
            reflectors_.push_back(std::make_unique<Reflector>(config, nodes, node_store_, options, log_));
            stores_.insert(stores_.end(), {&pod_store_, &namespace_store_, &policy_store_, &node_store_});
        }
        for (auto& r : reflectors_)
            threads_.emplace_back([reflector = r.get()] { reflector->run(); });
    }

    ApiSource(const ApiSource&) = delete;
    ApiSource& operator=(const ApiSource&) = delete;

    ~ApiSource() {
        for (auto& r : reflectors_)
            r->stop();
        for (auto& t : threads_)
            t.join();
    }

    // Readable when changes are pending (or a list completed); with_changes()
    // and drain_wake() empty it.
    int wake_fd() const { return wake_.get(); }

    void drain_wake() const {
        std::uint64_t ignored;
        (void)!::read(wake_.get(), &ignored, sizeof ignored);
    }

    // True once every resource's first complete list is in the state.
    bool synced() const {
        return std::all_of(stores_.begin(), stores_.end(), [](const StoreBase* s) { return s->listed(); });
    }

    const std::vector<std::unique_ptr<Reflector>>& reflectors() const { return reflectors_; }

    // Calls fn(state) while the reflectors wait, leaving the pending changes.
    template <class Fn> auto with_state(Fn fn) {
        std::lock_guard lock(mutex_);
        return fn(static_cast<const ClusterState&>(state_));
    }

    // Calls fn(state, changes) with the changes since the last call, while
    // the reflectors wait.
    template <class Fn> auto with_changes(Fn fn) {
        drain_wake();
        std::lock_guard lock(mutex_);
        sync::PendingChanges changes = std::exchange(pending_, {});
        return fn(static_cast<const ClusterState&>(state_), changes);
    }

  private:
    // One kind's objects: decoded from the reflector's JSON, kept under their
    // keys in the shared state.
    class StoreBase : public WatchSink {
      public:
        bool listed() const { return listed_; }

      protected:
        std::atomic<bool> listed_{false}; // set before the wake-up that announces it
    };

    template <class Object> class Store final : public StoreBase {
      public:
        using Member = std::map<ObjectKey, Object> ClusterState::*;

        Store(ApiSource& source, const Resource& resource, Member member)
            : source_(source), resource_(resource), member_(member),
              origin_(fmt::format("API {}", resource.collection_path())) {}

        void list_begins() override {
            listing_.clear();
            listing_active_ = true;
        }

        void list_done() override {
            listing_active_ = false;
            std::lock_guard lock(source_.mutex_);
            auto& current = source_.state_.*member_;
            std::size_t changed = 0;
            for (auto it = current.begin(); it != current.end();) {
                if (!listing_.contains(it->first)) {
                    note_change(it->second);
                    it = current.erase(it);
                    ++changed;
                } else {
                    ++it;
                }
            }
            for (auto& [key, object] : listing_) {
                auto [it, added] = current.try_emplace(key, object);
                if (!added && it->second == object)
                    continue;
                if (!added)
                    note_change(it->second);
                note_change(object);
                it->second = std::move(object);
                ++changed;
            }
            listing_.clear();
            this->listed_ = true;
            // A relist may change anything; the engine recomputes all of it.
            if (changed > 0)
                source_.pending_.everything = true;
            // A list is one event however many objects it changed; signalled
            // also with no change, since the first list makes the source synced.
            source_.signal(changed > 0 ? 1 : 0);

        }

        void upsert(simdjson::dom::element json) override {
            auto decoded = decode(json);
            if (listing_active_) {
                if (decoded)
                    listing_.insert_or_assign(decoded->key(), std::move(*decoded));
                else if (auto key = key_of(json)) // keep the last good version
                    keep_previous(*key);
                return;
            }
            if (!decoded)
                return;
            std::lock_guard lock(source_.mutex_);
            auto& current = source_.state_.*member_;
            auto [it, added] = current.try_emplace(decoded->key(), *decoded);
            if (!added && it->second == *decoded)
                return;
            if (!added)
                note_change(it->second);
            note_change(*decoded);
            it->second = std::move(*decoded);
            source_.signal(1);
        }

        void remove(simdjson::dom::element json) override {
            const auto key = key_of(json);
            if (!key)
                return;
            std::lock_guard lock(source_.mutex_);
            auto& current = source_.state_.*member_;
            const auto it = current.find(*key);
            if (it == current.end())
                return;
            note_change(it->second);
            current.erase(it);
            source_.signal(1);
        }

      private:
        // The object, or nullopt (after logging why) when it does not decode.
        std::optional<Object> decode(simdjson::dom::element json) {
            DecodeResult result;
            yaml::FieldReader reader(origin_, result.errors);
            k8s::detail::decode_document(reader, yaml::YamlField::document(json_document(json, resource_)), result);
            for (const auto& problem : result.errors)
                source_.log_(fmt::format("{} (the object keeps its previous version)", problem.str()));
            auto& decoded = objects_of(result);
            if (!result.errors.empty() || decoded.size() != 1)
                return std::nullopt;
            return std::move(decoded.front());
        }

        std::vector<Object>& objects_of(DecodeResult& r) {
            if constexpr (std::is_same_v<Object, Service>)
                return r.services;
            else if constexpr (std::is_same_v<Object, EndpointSlice>)
                return r.endpoint_slices;
            else if constexpr (std::is_same_v<Object, Pod>)
                return r.pods;
            else if constexpr (std::is_same_v<Object, Namespace>)
                return r.namespaces;
            else if constexpr (std::is_same_v<Object, Node>)
                return r.nodes;
            else
                return r.network_policies;
        }

        std::optional<ObjectKey> key_of(simdjson::dom::element json) const {
            std::string_view namespace_, name;
            if (json["metadata"]["name"].get(name))
                return std::nullopt;
            if constexpr (std::is_same_v<Object, Namespace> || std::is_same_v<Object, Node>)
                namespace_ = ""; // cluster-scoped, as their key() has it
            else if (json["metadata"]["namespace"].get(namespace_) || namespace_.empty())
                namespace_ = "default";
            return ObjectKey{std::string(resource_.kind), std::string(namespace_), std::string(name)};
        }

        void keep_previous(const ObjectKey& key) {
            std::lock_guard lock(source_.mutex_);
            const auto& current = source_.state_.*member_;
            if (const auto it = current.find(key); it != current.end())
                listing_.insert_or_assign(key, it->second);
        }

        // What an object's change may affect: a Service, or the policy.
        void note_change(const Object& object) {
            if constexpr (std::is_same_v<Object, Service>)
                source_.pending_.services.insert({object.meta.namespace_, object.meta.name});
            else if constexpr (std::is_same_v<Object, EndpointSlice>) {
                if (!object.service_name.empty())
                    source_.pending_.services.insert({object.meta.namespace_, object.service_name});
            } else
                source_.pending_.policy_objects = true;
        }

        ApiSource& source_;
        Resource resource_;
        Member member_;
        std::string origin_;
        std::map<ObjectKey, Object> listing_;
        bool listing_active_ = false;
    };

    // Called with mutex_ held.
    void signal(std::size_t events) {
        if (events > 0) {
            pending_.arrivals.insert(pending_.arrivals.end(), events, sync::Clock::now());
            counters_.received(events);
        }
        const std::uint64_t one = 1;
        (void)!::write(wake_.get(), &one, sizeof one);
    }

    LogFn log_;
    sync::SyncCounters& counters_;
    runtime::UniqueFd wake_;
    std::mutex mutex_;
    ClusterState state_;
    sync::PendingChanges pending_;
    Store<Service> service_store_;
    Store<EndpointSlice> slice_store_;
    Store<Pod> pod_store_;
    Store<Namespace> namespace_store_;
    Store<NetworkPolicy> policy_store_;
    Store<Node> node_store_;
    std::vector<const StoreBase*> stores_; // those with a reflector
    std::vector<std::unique_ptr<Reflector>> reflectors_;
    std::vector<std::thread> threads_;
};

} // namespace kpr::k8s::api
