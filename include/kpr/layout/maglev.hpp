// The Maglev tables (one BPF array, kpr_maglev): table t's slot s is entry
// t * maglevTableSize + s and holds the backend id the external path picks
// for a flow whose hash lands on s. A frontend with service_flag_maglev
// names its table in ServiceValue::maglev_table; the agent fills the table
// (sync/maglev_table.hpp) before slot 0 points at it.
#pragma once

#include <compare>
#include <cstdint>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "kpr/layout/describe.hpp"

namespace kpr::layout {

struct MaglevKey {
    static constexpr std::string_view c_name = "kpr_maglev_key";
    std::uint32_t index; // table * maglevTableSize + slot

    auto operator<=>(const MaglevKey&) const = default;
};

struct MaglevValue {
    static constexpr std::string_view c_name = "kpr_maglev_value";
    std::uint32_t backend_id; // 0: the slot is empty (the table is being written)

    auto operator<=>(const MaglevValue&) const = default;
};

} // namespace kpr::layout

BOOST_HANA_ADAPT_STRUCT(kpr::layout::MaglevKey, index);
BOOST_HANA_ADAPT_STRUCT(kpr::layout::MaglevValue, backend_id);

static_assert((kpr::layout::check_key_layout<kpr::layout::MaglevKey>(), true));
static_assert((kpr::layout::check_layout<kpr::layout::MaglevValue>(), true));
