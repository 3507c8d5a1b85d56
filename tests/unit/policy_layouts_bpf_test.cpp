// The policy maps' layouts as the BPF compiler sees them: their emitted C
// (structs and the _Static_asserts on every size and offset) compiles for
// the BPF target, so both sides agree on every byte before any TC program
// uses them; and a field moved on the C side is refused by that compiler.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codegen/bpf_compiler.hpp"
#include "codegen/c_layouts.hpp"
#include "kpr/layout/endpoint_policy.hpp"
#include "kpr/layout/ipcache.hpp"
#include "kpr/layout/policy.hpp"

namespace kpr::codegen {
namespace {

namespace fs = std::filesystem;

std::vector<layout::LayoutDescription> policy_layouts() {
    return {layout::describe<layout::IpcacheKey4>(),   layout::describe<layout::IpcacheKey6>(),
            layout::describe<layout::IpcacheValue>(),  layout::describe<layout::EndpointKey>(),
            layout::describe<layout::EndpointValue>(), layout::describe<layout::PolicyKey>(),
            layout::describe<layout::PolicyValue>()};
}

std::string policy_layouts_c() {
    std::string text = "#include \"lib/common.h\"\n";
    for (const layout::LayoutDescription& d : policy_layouts())
        text += emit_c_layout(d);
    return text;
}

// Compiles source for the BPF target, cross-checking clang's record layout
// of `layouts` against the C++ declarations; the compiler's diagnostics on
// failure.
std::string compile_for_bpf(const std::string& source,
                            std::vector<layout::LayoutDescription> layouts = {}) {
    std::string pattern = (fs::temp_directory_path() / "kpr-policy-layouts-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        return "cannot make a temporary directory";
    const fs::path dir = pattern;
    std::string problem;
    try {
        compile_bpf_object({KPR_TEMPLATES_DIR, KPR_MULTIARCH_INCLUDE, KPR_CLANG_RESOURCE_DIR},
                           {source, dir / "layouts.bpf.c", std::move(layouts), {}},
                           dir / "layouts.bpf.o");
    } catch (const CompileError& e) {
        problem = e.what();
    }
    fs::remove_all(dir);
    return problem;
}

TEST(PolicyLayoutsBpf, EmittedStructsCompileWithTheirChecks) {
    const std::string source = policy_layouts_c();
    EXPECT_NE(source.find("struct kpr_policy_key {\n\t__u32 endpoint_id;"), std::string::npos)
        << source;
    EXPECT_EQ(compile_for_bpf(source, policy_layouts()), "");
}

TEST(PolicyLayoutsBpf, AMovedFieldIsRefusedByTheBpfCompiler) {
    std::string source = policy_layouts_c();
    const std::string original = "\t__u8 direction;\n\t__u8 proto;\n";
    const auto at = source.find(original);
    ASSERT_NE(at, std::string::npos);
    source.replace(at, original.size(), "\t__u8 proto;\n\t__u16 direction;\n");
    // Without the record-layout cross-check, the emitted asserts alone refuse it.
    const std::string problem = compile_for_bpf(source);
    EXPECT_NE(problem.find("struct kpr_policy_key: offset of"), std::string::npos) << problem;
}

} // namespace
} // namespace kpr::codegen
