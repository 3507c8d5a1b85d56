// The error the runtime throws: a message that names what failed (the map,
// the program, the path) and why, fit to print as it is.
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace kpr::runtime {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// libbpf and the bpf() syscall report failure as -errno or errno.
inline std::string errno_text(int err) { return std::strerror(err < 0 ? -err : err); }

} // namespace kpr::runtime
