// Typed access to a BPF map: Map<Key, Value> over a map's file descriptor,
// created only from a layout/maps.hpp entry so the key and value types are
// the declared layouts (per-CPU maps: per_cpu_map.hpp). MapIo is the
// interface the sync engine writes through; tests substitute an in-memory map for it. Batches go to the
// kernel as one BPF_MAP_*_BATCH call, which applies its entries in order,
// so a concurrent reader sees exactly what per-entry writes would show.
#pragma once

#include <bpf/bpf.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "kpr/layout/maps.hpp"
#include "kpr/runtime/error.hpp"
#include "kpr/runtime/log.hpp"
#include "kpr/runtime/unique_fd.hpp"

namespace kpr::runtime {

template <class Key, class Value> class MapIo {
  public:
    virtual ~MapIo() = default;
    virtual std::string_view name() const = 0;
    virtual std::uint32_t capacity() const = 0;
    virtual std::optional<Value> lookup(const Key& key) const = 0;
    // Inserts or replaces; throws Error naming the map (and "full" when it is).
    virtual void update(const Key& key, const Value& value) = 0;
    // Removing an absent key is not an error.
    virtual void erase(const Key& key) = 0;
    virtual void for_each(const std::function<void(const Key&, const Value&)>& visit) const = 0;

    // keys[i] gets values[i], in order; stops at the first failure, like update().
    virtual void update_batch(std::span<const Key> keys, std::span<const Value> values) {
        for (std::size_t i = 0; i < keys.size(); ++i)
            update(keys[i], values[i]);
    }
    // Removes the keys in order; absent keys are skipped, like erase().
    virtual void erase_batch(std::span<const Key> keys) {
        for (const auto& key : keys)
            erase(key);
    }
};

// Whether the kernel refused a batch command itself (too old a kernel, or a
// map type without batch operations) rather than an entry of the batch.
inline bool batch_refused(int err, __u32 done) {
    return err == ENOTSUP || err == EOPNOTSUPP || err == 524 /* kernel ENOTSUPP */ ||
           (err == EINVAL && done == 0);
}

template <class Key, class Value> class Map final : public MapIo<Key, Value> {
  public:
    // Takes its own reference to the map, checking it is the one the spec
    // describes (sizes match the layouts).
    Map(const layout::MapSpec<Key, Value>& spec, int map_fd) : name_(spec.name) {
        if (layout::is_per_cpu(spec.type))
            throw Error(fmt::format("map {} holds one value per CPU: use PerCpuMap", name_));
        fd_ = UniqueFd(::dup(map_fd));
        if (!fd_)
            throw Error(fmt::format("map {}: dup: {}", name_, errno_text(errno)));
        bpf_map_info info{};
        __u32 len = sizeof info;
        if (int err = bpf_obj_get_info_by_fd(fd_.get(), &info, &len); err != 0)
            throw Error(fmt::format("map {}: reading its info: {}", name_, errno_text(err)));
        if (info.key_size != sizeof(Key) || info.value_size != sizeof(Value))
            throw Error(fmt::format("map {}: key/value sizes are {}/{} in the kernel, {}/{} in "
                                    "kpr's layouts",
                                    name_, info.key_size, info.value_size, sizeof(Key),
                                    sizeof(Value)));
        capacity_ = info.max_entries;
    }

    std::string_view name() const override { return name_; }
    std::uint32_t capacity() const override { return capacity_; }

    std::optional<Value> lookup(const Key& key) const override {
        Value value;
        if (bpf_map_lookup_elem(fd_.get(), &key, &value) == 0)
            return value;
        if (errno != ENOENT)
            throw Error(fmt::format("map {}: lookup: {}", name_, errno_text(errno)));
        return std::nullopt;
    }

    void update(const Key& key, const Value& value) override {
        if (bpf_map_update_elem(fd_.get(), &key, &value, BPF_ANY) == 0)
            return;
        const int err = errno;
        if (err == E2BIG)
            throw Error(fmt::format("map {} is full (capacity {})", name_, capacity_));
        throw Error(fmt::format("map {}: update: {}", name_, errno_text(err)));
    }

    void erase(const Key& key) override {
        if (bpf_map_delete_elem(fd_.get(), &key) != 0 && errno != ENOENT)
            throw Error(fmt::format("map {}: delete: {}", name_, errno_text(errno)));
    }

    void for_each(const std::function<void(const Key&, const Value&)>& visit) const override {
        if (batch_works_ && for_each_batched(visit))
            return;
        Key key{};
        Key next{};
        const Key* cursor = nullptr;
        while (bpf_map_get_next_key(fd_.get(), cursor, &next) == 0) {
            key = next;
            cursor = &key;
            // An entry deleted between the two calls is simply skipped.
            if (auto value = lookup(key))
                visit(key, *value);
        }
        if (errno != ENOENT)
            throw Error(fmt::format("map {}: iterating: {}", name_, errno_text(errno)));
    }

    void update_batch(std::span<const Key> keys, std::span<const Value> values) override {
        if (keys.empty())
            return;
        if (batch_works_) {
            LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
            auto done = static_cast<__u32>(keys.size());
            if (bpf_map_update_batch(fd_.get(), keys.data(), values.data(), &done, &opts) == 0)
                return;
            const int err = errno;
            if (!batch_refused(err, done)) {
                if (err == E2BIG)
                    throw Error(fmt::format("map {} is full (capacity {})", name_, capacity_));
                throw Error(fmt::format("map {}: batch update: {}", name_, errno_text(err)));
            }
            fall_back("update", err);
        }
        MapIo<Key, Value>::update_batch(keys, values);
    }

    void erase_batch(std::span<const Key> keys) override {
        while (!keys.empty() && batch_works_) {
            LIBBPF_OPTS(bpf_map_batch_opts, opts);
            auto done = static_cast<__u32>(keys.size());
            if (bpf_map_delete_batch(fd_.get(), keys.data(), &done, &opts) == 0)
                return;
            const int err = errno;
            // The kernel stops at an absent key; it is not an error here, so
            // go on after it.
            if (err == ENOENT && done < keys.size()) {
                keys = keys.subspan(done + 1);
                continue;
            }
            if (!batch_refused(err, done))
                throw Error(fmt::format("map {}: batch delete: {}", name_, errno_text(err)));
            fall_back("delete", err);
        }
        MapIo<Key, Value>::erase_batch(keys);
    }

  private:
    // Reads the map in chunks with BPF_MAP_LOOKUP_BATCH; false when the
    // kernel refuses it before anything was visited.
    bool for_each_batched(const std::function<void(const Key&, const Value&)>& visit) const {
        std::size_t chunk = 256;
        std::vector<Key> keys(chunk);
        std::vector<Value> values(chunk);
        // Hash maps resume from a bucket index (4 bytes); other maps (an LPM
        // trie) from a key, which the kernel writes whole: room for either.
        using Token = std::array<unsigned char, std::max(sizeof(Key), sizeof(std::uint64_t))>;
        alignas(8) Token in_token{};
        alignas(8) Token out_token{};
        const void* in = nullptr;
        bool visited = false;
        for (;;) {
            LIBBPF_OPTS(bpf_map_batch_opts, opts);
            auto count = static_cast<__u32>(chunk);
            const int rc = bpf_map_lookup_batch(fd_.get(), const_cast<void*>(in), out_token.data(), keys.data(),
                                                values.data(), &count, &opts);
            const int err = rc == 0 ? 0 : errno;
            if (err == ENOSPC && count == 0) {
                // One bucket holds more entries than a chunk.
                chunk *= 2;
                keys.resize(chunk);
                values.resize(chunk);
                continue;
            }
            if (err != 0 && err != ENOENT) {
                if (!visited && batch_refused(err, count)) {
                    fall_back("lookup", err);
                    return false;
                }
                throw Error(fmt::format("map {}: batch lookup: {}", name_, errno_text(err)));
            }
            for (__u32 i = 0; i < count; ++i)
                visit(keys[i], values[i]);
            visited = true;
            if (err == ENOENT)
                return true;
            in_token = out_token;
            in = in_token.data();
        }
    }

    void fall_back(std::string_view what, int err) const {
        batch_works_ = false;
        log("map {}: the kernel refuses batch {} ({}); writing entry by entry", name_, what, errno_text(err));
    }

    std::string name_;
    UniqueFd fd_;
    std::uint32_t capacity_ = 0;
    mutable bool batch_works_ = true; // until the kernel refuses a batch command
};

} // namespace kpr::runtime
