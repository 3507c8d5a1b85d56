// Brings the socket load balancer's maps, both families, to a desired model:
// frontends no Service wants any more go first (freeing room), then each
// Service's frontends are programmed, smallest growth first. A Service that
// would not fit a map's capacity, or whose writes fail, keeps what it had and
// is reported; the others are programmed regardless. The NodePorts the
// Services hold go to kpr_nodeport (the bind hooks' list) when it exists.
#pragma once

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "kpr/diagnostic.hpp"
#include "kpr/sync/family_programmer.hpp"
#include "kpr/sync/load_balancer_model.hpp"

namespace kpr::sync {

enum class ApplyScope {
    // Make the maps hold exactly the model.
    everything,
    // Only add frontends the maps lack; change and remove nothing. For a
    // model that may lack objects that exist (input not yet read without a
    // problem, as after a restart over a broken file): what is programmed
    // stays as it was rather than lose a backend or a Service.
    new_frontends_only,
};

struct ApplyReport {
    std::vector<Diagnostic> problems;
    std::size_t written = 0;   // frontends added or changed
    std::size_t removed = 0;   // frontends deleted
    std::size_t unchanged = 0; // frontends already as desired
};

class ServiceProgrammer {
  public:
    using NodePortMap = runtime::MapIo<layout::NodePortKey, layout::NodePortValue>;

    // Either family may be absent when the data path was built without it,
    // and the NodePort map when it has no bind hooks.
    ServiceProgrammer(FamilyProgrammer<Ipv4Maps>* v4, FamilyProgrammer<Ipv6Maps>* v6,
                      NodePortMap* node_ports = nullptr)
        : v4_(v4), v6_(v6), node_ports_(node_ports) {}

    ApplyReport apply(const LoadBalancerModel& model, ApplyScope scope = ApplyScope::everything) {
        const bool everything = scope == ApplyScope::everything;
        ApplyReport report;
        report.problems = model.problems;
        std::vector<Planned> plan;
        std::set<Frontend> wanted4, wanted6;
        for (const auto& svc : model.services)
            plan.push_back(plan_service(svc, everything, report, wanted4, wanted6));
        if (everything)
            report.removed += remove_unwanted(v4_, wanted4) + remove_unwanted(v6_, wanted6);
        program_plan(plan, report);
        if (everything)
            for_each_family([](auto& fam) { fam.remove_unreferenced_backends(); });
        program_node_ports(model, everything, report);
        return report;
    }

    // Programs only these Services, whose frontends are already theirs and
    // stay the same (their backends changed): the incremental path, which
    // touches no other frontend.
    ApplyReport apply_services(const std::vector<const DesiredService*>& services) {
        ApplyReport report;
        std::vector<Planned> plan;
        std::set<Frontend> wanted4, wanted6;
        for (const auto* svc : services)
            plan.push_back(plan_service(*svc, true, report, wanted4, wanted6));
        program_plan(plan, report);
        return report;
    }

  private:
    // kpr_nodeport as the model's Services hold them (with everything
    // false, only additions).
    void program_node_ports(const LoadBalancerModel& model, bool everything, ApplyReport& report) {
        if (!node_ports_)
            return;
        std::map<layout::NodePortKey, layout::NodePortValue> wanted;
        for (const auto& svc : model.services)
            for (const auto& [port, protocol] : svc.node_ports)
                ++wanted[layout::NodePortKey{layout::be16::from_host(port), k8s::ip_protocol_number(protocol), 0}]
                      .services;
        std::map<layout::NodePortKey, layout::NodePortValue> have;
        node_ports_->for_each([&](const auto& k, const auto& v) { have.emplace(k, v); });
        std::vector<layout::NodePortKey> keys, gone;
        std::vector<layout::NodePortValue> values;
        for (const auto& [k, v] : wanted)
            if (const auto it = have.find(k); it == have.end() || (everything && it->second != v)) {
                keys.push_back(k);
                values.push_back(v);
            }
        if (everything)
            for (const auto& [k, v] : have)
                if (!wanted.contains(k))
                    gone.push_back(k);
        try {
            node_ports_->update_batch(keys, values);
            node_ports_->erase_batch(gone);
        } catch (const runtime::Error& e) {
            report.problems.push_back(Diagnostic{{std::string(node_ports_->name())}, "", "", e.what()});
        }
    }

    struct Planned {
        const DesiredService* service;
        std::vector<const DesiredFrontend*> v4, v6;
        std::ptrdiff_t growth;
    };

    // The frontends of svc to program (all, or with everything false only
    // those not programmed yet), each noted as wanted.
    Planned plan_service(const DesiredService& svc, bool everything, ApplyReport& report, std::set<Frontend>& wanted4,
                         std::set<Frontend>& wanted6) {
        Planned p{&svc, {}, {}, 0};
        for (const auto& d : svc.frontends) {
            const auto& address = d.frontend.address;
            if (address.is_v4() ? !v4_ : !v6_) {
                report.problems.push_back(Diagnostic{
                    svc.location, svc.service.str(), "spec.clusterIPs",
                    fmt::format("{0} is {1}, and this data path was built without {1}", address.str(),
                                to_string(address.family()))});
                continue;
            }
            if (!everything && programmed(d.frontend)) {
                ++report.unchanged;
                continue;
            }
            (address.is_v4() ? p.v4 : p.v6).push_back(&d);
            (address.is_v4() ? wanted4 : wanted6).insert(d.frontend);
        }
        return p;
    }

    // Smallest growth first, so capacity freed by one Service serves the next.
    void program_plan(std::vector<Planned>& plan, ApplyReport& report) {
        for (auto& p : plan)
            p.growth = growth(v4_, p.v4) + growth(v6_, p.v6);
        std::stable_sort(plan.begin(), plan.end(), [](const auto& a, const auto& b) { return a.growth < b.growth; });
        for (const auto& p : plan)
            program_service(p, report);
    }

    bool programmed(const Frontend& f) const {
        return f.address.is_v4() ? v4_->programmed(f) : v6_->programmed(f);
    }

    template <class Fn> void for_each_family(Fn fn) {
        if (v4_)
            fn(*v4_);
        if (v6_)
            fn(*v6_);
    }

    template <class F>
    static std::size_t remove_unwanted(FamilyProgrammer<F>* fam, const std::set<Frontend>& wanted) {
        if (!fam)
            return 0;
        std::size_t removed = 0;
        for (const auto& f : fam->frontends()) {
            if (wanted.contains(f))
                continue;
            fam->remove(f);
            ++removed;
        }
        return removed;
    }

    template <class F>
    static std::ptrdiff_t growth(FamilyProgrammer<F>* fam, const std::vector<const DesiredFrontend*>& frontends) {
        if (!fam || frontends.empty())
            return 0;
        return static_cast<std::ptrdiff_t>(fam->usage_after(frontends).service_entries) -
               static_cast<std::ptrdiff_t>(fam->usage().service_entries);
    }

    // Why the frontends would not fit this family's maps, if they would not.
    template <class F>
    static std::optional<std::string> overflow(FamilyProgrammer<F>* fam,
                                               const std::vector<const DesiredFrontend*>& frontends) {
        if (!fam || frontends.empty())
            return std::nullopt;
        const auto now = fam->usage();
        const auto after = fam->usage_after(frontends);
        const auto check = [](const auto& map, std::size_t now_entries, std::size_t after_entries)
            -> std::optional<std::string> {
            if (after_entries <= map.capacity())
                return std::nullopt;
            return fmt::format("does not fit map {}: it would hold {} entries, its capacity is {} ({} in "
                               "use); the Service keeps what it had",
                               map.name(), after_entries, map.capacity(), now_entries);
        };
        if (auto why = check(fam->service_map(), now.service_entries, after.service_entries))
            return why;
        return check(fam->backend_map(), now.backend_entries, after.backend_entries);
    }

    template <class F>
    static void program_family(FamilyProgrammer<F>* fam, const std::vector<const DesiredFrontend*>& frontends,
                               ApplyReport& report) {
        for (const auto* d : frontends) {
            if (fam->program(*d))
                ++report.written;
            else
                ++report.unchanged;
        }
    }

    void program_service(const Planned& p, ApplyReport& report) {
        const auto& svc = *p.service;
        auto why = overflow(v4_, p.v4);
        if (!why)
            why = overflow(v6_, p.v6);
        if (why) {
            report.problems.push_back(Diagnostic{svc.location, svc.service.str(), "", *why});
            return;
        }
        try {
            if (!p.v4.empty())
                program_family(v4_, p.v4, report);
            if (!p.v6.empty())
                program_family(v6_, p.v6, report);
        } catch (const runtime::Error& e) {
            report.problems.push_back(Diagnostic{svc.location, svc.service.str(), "", e.what()});
            // The maps are the truth after a failed write.
            for_each_family([](auto& fam) { fam.read_back(); });
        }
    }

    FamilyProgrammer<Ipv4Maps>* v4_;
    FamilyProgrammer<Ipv6Maps>* v6_;
    NodePortMap* node_ports_;
};

} // namespace kpr::sync
