// Runs the calling thread inside a test's network namespace for a scope:
// for kernel tests that drive netlink or tc from the test process itself
// (a socket opened inside keeps its namespace). Back in the namespace the
// thread came from when the scope ends.
#pragma once

#include "testbed/netns.hpp"
#include "testbed/unique_fd.hpp"

namespace kpr::testbed {

class InsideNetns {
  public:
    // Throws std::runtime_error when the namespace cannot be entered.
    explicit InsideNetns(const NetNs& ns);
    InsideNetns(const InsideNetns&) = delete;
    InsideNetns& operator=(const InsideNetns&) = delete;
    // Aborts the test process if it cannot return: staying in the wrong
    // namespace would let later steps touch the machine's interfaces.
    ~InsideNetns();

  private:
    UniqueFd original_;
};

} // namespace kpr::testbed
