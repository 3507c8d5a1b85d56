// Typed access to a per-CPU BPF map (layout/maps.hpp entries whose type is
// per-CPU, such as the drop counters): under each key the kernel keeps one
// value per possible CPU, and a read returns them all. Map<> refuses these
// maps, since its one-value buffer would be too small for the kernel's copy.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/layout/maps.hpp"
#include "kpr/runtime/error.hpp"
#include "kpr/runtime/unique_fd.hpp"

namespace kpr::runtime {

template <class Key, class Value> class PerCpuMap {
    // The kernel copies each CPU's value at an 8-byte stride.
    static_assert(sizeof(Value) % 8 == 0, "per-CPU values are laid out 8 bytes apart");

  public:
    PerCpuMap(const layout::MapSpec<Key, Value>& spec, int map_fd) : name_(spec.name) {
        if (!layout::is_per_cpu(spec.type))
            throw Error(fmt::format("map {} is not a per-CPU map", name_));
        fd_ = UniqueFd(::dup(map_fd));
        if (!fd_)
            throw Error(fmt::format("map {}: dup: {}", name_, errno_text(errno)));
        const int cpus = libbpf_num_possible_cpus();
        if (cpus <= 0)
            throw Error(fmt::format("map {}: cannot count the possible CPUs: {}", name_,
                                    errno_text(-cpus)));
        cpus_ = static_cast<std::size_t>(cpus);
    }

    std::size_t cpus() const { return cpus_; }

    // One value per possible CPU; empty when the key is absent.
    std::vector<Value> lookup(const Key& key) const {
        std::vector<Value> values(cpus_);
        if (bpf_map_lookup_elem(fd_.get(), &key, values.data()) == 0)
            return values;
        if (errno != ENOENT)
            throw Error(fmt::format("map {}: lookup: {}", name_, errno_text(errno)));
        return {};
    }

    // values: one per possible CPU.
    void update(const Key& key, const std::vector<Value>& values) {
        if (values.size() != cpus_)
            throw Error(fmt::format("map {}: {} values for {} CPUs", name_, values.size(), cpus_));
        if (bpf_map_update_elem(fd_.get(), &key, values.data(), BPF_ANY) != 0)
            throw Error(fmt::format("map {}: update: {}", name_, errno_text(errno)));
    }

  private:
    std::string name_;
    UniqueFd fd_;
    std::size_t cpus_ = 0;
};

} // namespace kpr::runtime
