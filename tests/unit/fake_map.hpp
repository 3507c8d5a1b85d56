// An in-memory stand-in for a BPF map, for testing the sync engine without
// a kernel: same interface, the kernel's capacity rule, a log of every write,
// and a hook run after each write so a test can check what a concurrent
// reader would see at that instant. A batch is applied as its entries in
// order, as the kernel does, and counted.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/runtime/map.hpp"

namespace kpr::testing {

template <class Key, class Value> class FakeMap final : public runtime::MapIo<Key, Value> {
  public:
    FakeMap(std::string name, std::uint32_t capacity) : name_(std::move(name)), capacity_(capacity) {}

    std::string_view name() const override { return name_; }
    std::uint32_t capacity() const override { return capacity_; }

    std::optional<Value> lookup(const Key& key) const override {
        const auto it = entries_.find(key);
        if (it == entries_.end())
            return std::nullopt;
        return it->second;
    }

    void update(const Key& key, const Value& value) override {
        if (!entries_.contains(key) && entries_.size() >= capacity_)
            throw runtime::Error(fmt::format("map {} is full (capacity {})", name_, capacity_));
        if (fail_next_update) {
            fail_next_update = false;
            throw runtime::Error(fmt::format("map {}: update: injected failure", name_));
        }
        entries_[key] = value;
        ++writes;
        after_write();
    }

    void erase(const Key& key) override {
        if (entries_.erase(key) > 0) {
            ++writes;
            after_write();
        }
    }

    void update_batch(std::span<const Key> keys, std::span<const Value> values) override {
        if (!keys.empty())
            ++batches;
        runtime::MapIo<Key, Value>::update_batch(keys, values);
    }

    void erase_batch(std::span<const Key> keys) override {
        if (!keys.empty())
            ++batches;
        runtime::MapIo<Key, Value>::erase_batch(keys);
    }

    void for_each(const std::function<void(const Key&, const Value&)>& visit) const override {
        for (const auto& [k, v] : entries_)
            visit(k, v);
    }

    const std::map<Key, Value>& entries() const { return entries_; }
    std::map<Key, Value>& entries() { return entries_; }

    std::size_t writes = 0;
    std::size_t batches = 0; // non-empty batch calls
    bool fail_next_update = false;
    std::function<void()> after_write = [] {};

  private:
    std::string name_;
    std::uint32_t capacity_;
    std::map<Key, Value> entries_;
};

} // namespace kpr::testing
