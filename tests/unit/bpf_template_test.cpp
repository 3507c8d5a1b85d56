// The @kpr template language: slots filled, blocks kept or dropped by the
// enabled features, and every malformed template refused with its line.
#include <gtest/gtest.h>

#include "codegen/bpf_template.hpp"

namespace kpr::codegen {
namespace {

TemplateInputs inputs(std::set<std::string> enabled) {
    return {{{"maps", "struct m;\n"}}, std::move(enabled), {"ipv4", "ipv6", "connect"}};
}

const std::string text = "a\n"
                         "/* @kpr:slot maps */\n"
                         "/* @kpr:if ipv4 */\n"
                         "v4\n"
                         "/* @kpr:if !ipv6 */\n"
                         "v4 only\n"
                         "/* @kpr:endif */\n"
                         "/* @kpr:endif */\n"
                         "/* @kpr:if ipv6 connect */\n"
                         "v6 connect\n"
                         "/* @kpr:endif */\n"
                         "z\n";

TEST(BpfTemplate, FillsSlotsAndKeepsEnabledBlocks) {
    EXPECT_EQ(expand_template(text, "t.c", inputs({"ipv4"})), "a\nstruct m;\nv4\nv4 only\nz\n");
    EXPECT_EQ(expand_template(text, "t.c", inputs({"ipv4", "ipv6"})), "a\nstruct m;\nv4\nz\n");
    EXPECT_EQ(expand_template(text, "t.c", inputs({"ipv6", "connect"})),
              "a\nstruct m;\nv6 connect\nz\n");
}

TEST(BpfTemplate, DroppedBlocksLeaveNoRunOfBlankLines) {
    const std::string t =
        "a\n\n/* @kpr:slot maps */\n/* @kpr:if ipv6 */\nx\n/* @kpr:endif */\n\nb\n";
    EXPECT_EQ(expand_template(t, "t.c", inputs({})), "a\n\nstruct m;\n\nb\n");
}

TEST(BpfTemplate, EachOutputLineKnowsItsTemplateLineOrSlot) {
    TemplateInputs in = inputs({"ipv4"});
    in.slots["maps"] = "struct m;\nstruct n;\n";
    const auto expanded = expand_template_with_origins(text, "t.c", in);
    EXPECT_EQ(expanded.text, "a\nstruct m;\nstruct n;\nv4\nv4 only\nz\n");
    EXPECT_EQ(
        expanded.origins,
        (std::vector<LineOrigin>{{1, ""}, {2, "maps"}, {2, "maps"}, {4, ""}, {6, ""}, {12, ""}}));
    EXPECT_EQ(describe_origin(expanded.origins[3], "t.c"), "t.c:4");
    EXPECT_EQ(describe_origin(expanded.origins[1], "t.c"), "@kpr:slot maps at t.c:2");
}

void expect_error(const std::string& t, const std::string& message,
                  TemplateInputs in = inputs({})) {
    try {
        expand_template(t, "t.c", in);
        FAIL() << "accepted: " << t;
    } catch (const TemplateError& e) {
        EXPECT_EQ(std::string(e.what()), message);
    }
}

TEST(BpfTemplate, RefusesMalformedTemplates) {
    expect_error("/* @kpr:slot maps */\n/* @kpr:if ipv5 */\n/* @kpr:endif */\n",
                 "t.c:2: unknown feature \"ipv5\"");
    expect_error("/* @kpr:slot maps */\n/* @kpr:if ipv4 */\nx\n", "t.c:2: @kpr:if is never closed");
    expect_error("/* @kpr:slot maps */\n/* @kpr:endif */\n", "t.c:2: @kpr:endif without @kpr:if");
    expect_error("/* @kpr:slot maps */\n/* @kpr:slot layouts */\n",
                 "t.c:2: no text for slot \"layouts\"");
    expect_error("x\n", "t.c: has no slot \"maps\"");
    expect_error("/* @kpr:slot maps */\n/* @kpr:include x */\n",
                 "t.c:2: unknown directive @kpr:include");
}

} // namespace
} // namespace kpr::codegen
