// Typed access to a BPF map: Map<Key, Value> over a map's file descriptor,
// created only from a layout/maps.hpp entry so the key and value types are
// the declared layouts. MapIo is the interface the sync engine writes
// through; tests substitute an in-memory map for it.
#pragma once

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "kpr/layout/maps.hpp"
#include "kpr/runtime/error.hpp"
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
};

template <class Key, class Value> class Map final : public MapIo<Key, Value> {
  public:
    // Takes its own reference to the map, checking it is the one the spec
    // describes (sizes match the layouts).
    Map(const layout::MapSpec<Key, Value>& spec, int map_fd) : name_(spec.name) {
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

  private:
    std::string name_;
    UniqueFd fd_;
    std::uint32_t capacity_ = 0;
};

} // namespace kpr::runtime
