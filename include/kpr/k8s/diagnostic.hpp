// Problems found in Kubernetes objects use kpr's one diagnostic shape.
#pragma once

#include "kpr/diagnostic.hpp"

namespace kpr::k8s {
using kpr::Diagnostic;
} // namespace kpr::k8s
