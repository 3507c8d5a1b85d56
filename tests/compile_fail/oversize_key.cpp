// Must not compile: a key larger than a BPF hash map accepts.
#include <array>
#include <cstdint>

#include "kpr/layout/maps.hpp"

struct HugeKey {
    static constexpr std::string_view c_name = "huge_key";
    std::array<std::uint8_t, 600> bytes;
};
BOOST_HANA_ADAPT_STRUCT(HugeKey, bytes);

inline constexpr kpr::layout::MapSpec<HugeKey, kpr::layout::ServiceValue> huge{
    "huge", kpr::layout::MapType::hash, kpr::net::Family::ipv4,
    kpr::layout::schema_capacity("services"), kpr::layout::Datapath::socket};
