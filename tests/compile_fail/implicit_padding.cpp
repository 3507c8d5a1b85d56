// Must not compile: a layout whose fields leave a gap the C++ compiler fills
// with padding (address after a 2-byte port), which the BPF side could lay
// out differently. Checked by ctest for the static_assert's message.
#include <array>

#include "kpr/layout/maps.hpp"

struct PaddedKey {
    static constexpr std::string_view c_name = "padded_key";
    kpr::layout::be16 port;
    kpr::layout::be32 address;
};
BOOST_HANA_ADAPT_STRUCT(PaddedKey, port, address);

inline constexpr kpr::layout::MapSpec<PaddedKey, kpr::layout::ServiceValue> padded{
    "padded", kpr::layout::MapType::hash, kpr::net::Family::ipv4,
    kpr::layout::schema_capacity("services"), kpr::layout::Datapath::socket};
