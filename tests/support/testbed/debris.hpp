// Names for what tests create in machine-wide places (network namespaces,
// cgroups, bpffs directories), and the sweep that removes what a killed run
// left behind. Every such name is kprt-<pid>-<tag>, so the owner is known.
#pragma once

#include <string>
#include <string_view>

namespace kpr::testbed {

// kprt-<this process's pid>-<tag>.
std::string test_object_name(std::string_view tag);

// Removes network namespaces /var/run/netns/kprt-<pid>-* (killing any process
// still inside), cgroups <cgroup2 mount>/kprt-<pid>-* and bpffs directories
// /sys/fs/bpf/kpr/kprt-<pid>-*, v1 memory cgroups /sys/fs/cgroup/memory/kprt-<pid>-*
// and temporary directories <tmp>/kprt-<pid>-*
// whose <pid> is no longer alive. Best effort:
// what cannot be removed is reported on stderr. Call once before a test
// builds anything.
void sweep_debris();

} // namespace kpr::testbed
