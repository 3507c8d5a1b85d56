// A throwaway load: pins cleared, programs loaded, info read, all closed.
#include "codegen/verifier_load.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

namespace kpr::codegen {
namespace {

// Loading cgroup socket programs takes CAP_BPF and CAP_NET_ADMIN (or
// CAP_SYS_ADMIN, which kernels before CAP_BPF asked for).
bool may_load_socket_programs() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) != 0)
        return false;
    const auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1u; };
    return (has(CAP_BPF) && has(CAP_NET_ADMIN)) || has(CAP_SYS_ADMIN);
}

} // namespace

VerifierReport load_into_verifier(const std::filesystem::path& path) {
    VerifierReport report;
    if (!may_load_socket_programs()) {
        report.skipped = "skipped: needs CAP_BPF and CAP_NET_ADMIN (run as root to load the object "
                         "into the kernel's verifier)";
        return report;
    }
    std::unique_ptr<bpf_object, decltype(&bpf_object__close)> object(
        bpf_object__open_file(path.c_str(), nullptr), &bpf_object__close);
    if (!object)
        throw std::runtime_error(
            fmt::format("{}: cannot open the BPF object: {}", path.string(), std::strerror(errno)));
    bpf_map* map;
    bpf_object__for_each_map(map, object.get()) {
        if (int err = bpf_map__set_pin_path(map, nullptr); err != 0)
            throw std::runtime_error(
                fmt::format("{}: cannot unpin map {}", path.string(), bpf_map__name(map)));
    }
    if (int err = bpf_object__load(object.get()); err != 0)
        throw std::runtime_error(
            fmt::format("{}: the kernel's verifier refused it: {} (its log is above)",
                        path.string(), std::strerror(-err)));
    bpf_program* prog;
    bpf_object__for_each_program(prog, object.get()) {
        bpf_prog_info info{};
        __u32 length = sizeof info;
        if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &length) != 0)
            throw std::runtime_error(fmt::format("{}: cannot read program {}'s info: {}",
                                                 path.string(), bpf_program__name(prog),
                                                 std::strerror(errno)));
        report.programs.push_back({bpf_program__name(prog), bpf_program__section_name(prog),
                                   static_cast<std::uint32_t>(bpf_program__insn_cnt(prog)),
                                   info.verified_insns});
    }
    return report;
}

} // namespace kpr::codegen
