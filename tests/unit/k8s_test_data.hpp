// Test support for decoding tests: the files under tests/data/k8s, and a
// decode result's diagnostics as the text users see.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kpr/k8s/yaml_decode.hpp"

namespace kpr::k8s::test_data {

inline std::string read_test_file(const std::string& name) {
    std::ifstream in(std::string(KPR_TEST_DATA_DIR) + "/k8s/" + name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline std::vector<std::string> error_texts(const DecodeResult& result) {
    std::vector<std::string> out;
    for (const Diagnostic& d : result.errors)
        out.push_back(d.str());
    return out;
}

} // namespace kpr::k8s::test_data
