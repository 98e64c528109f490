// Translation between Mesos types and the C plugin ABI (locus/allocator.h).
//
// Each C view below owns every string and array its C struct points into, so
// a view lives exactly as long as the call it is built for and nothing is
// shared with Mesos objects. The views are not copyable: their C structs hold
// pointers into their own members.
//
// Only scalar quantities cross the ABI. The adapter keeps the full Mesos
// `Resources` (reservations, volumes, roles) itself and offers them unchanged;
// the C core sees the agent's non-shared scalar quantities summed by name.

#ifndef LOCUS_MESOS_TRANSLATE_HPP
#define LOCUS_MESOS_TRANSLATE_HPP

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <mesos/mesos.hpp>
#include <mesos/resource_quantities.hpp>
#include <mesos/resources.hpp>

#include <stout/hashmap.hpp>
#include <stout/option.hpp>

#include "locus/allocator.h"

namespace locus {
namespace mesos_adapter {

// The name of the SET resource (in `Request.resources`) and of the
// FrameworkInfo label that carry a framework's data demand.
constexpr const char DEMAND_NAME[] = "locus.datasets";

class NonCopyable
{
public:
  NonCopyable() = default;
  NonCopyable(const NonCopyable&) = delete;
  NonCopyable& operator=(const NonCopyable&) = delete;
};

// Scalar quantities the core accounts: non-shared scalars, summed by name,
// of the names the core accounts (see setCoreNameCapacity).
mesos::ResourceQuantities coreQuantities(const mesos::Resources& resources);

// Every non-shared scalar, summed by name (what Mesos's metrics count).
mesos::ResourceQuantities scalarQuantities(const mesos::Resources& resources);

// The plugin accounts at most `capacity` distinct scalar names (its
// max_resource_names; cpus, mem, disk and gpus always among them). Names are
// taken in the order they first appear; the ones beyond stay with the
// adapter: offered with their agent (whole, with any slice of it) but left
// out of the plugin's shares, so no agent is refused for its names. 0: no
// limit. Set by the allocator actor before any agent is added.
void setCoreNameCapacity(size_t capacity);

// Whether the plugin accounts scalar `name` (taking it when there is room).
bool coreAccounts(const std::string& name);

// The part of `available` the core offered: each scalar cut to the core's
// quantity of that name, reserved resources taken before unreserved ones
// (reservations, labels and roles kept), a resource that cannot be split (a
// shared, persistent or MOUNT/BLOCK disk) only when it fits whole; non-scalar
// resources (ports) go with the slice whole. Scalars the core did not count
// (shared ones, names beyond the plugin's capacity) are kept.
mesos::Resources sliceOf(const mesos::Resources& available,
                         const mesos::ResourceQuantities& offered);

// A locus_resources over owned names.
class CScalars : NonCopyable
{
public:
  explicit CScalars(const mesos::ResourceQuantities& quantities);
  explicit CScalars(const mesos::Resources& resources)
    : CScalars(coreQuantities(resources)) {}

  const locus_resources& get() const { return res; }

private:
  std::vector<std::string> names;
  std::vector<locus_scalar> items;
  locus_resources res;
};

// Reads a locus_resources (an offer from the core) as quantities.
mesos::ResourceQuantities fromC(const locus_resources& resources);

// The rack of an agent: the text or scalar value of the attribute named
// `rackAttribute`, else the fault domain's zone, else "".
std::string agentRack(const mesos::SlaveInfo& info, const std::string& rackAttribute);

class CAgent : NonCopyable
{
public:
  CAgent(const mesos::SlaveInfo& info,
         const mesos::Resources& total,
         const std::string& rackAttribute);

  const locus_agent_info& get() const { return info_; }

private:
  std::string id, hostname, rack;
  CScalars total_;
  locus_agent_info info_;
};

// The roles a framework subscribes to (MULTI_ROLE: `roles`, else `role`).
std::set<std::string> frameworkRoles(const mesos::FrameworkInfo& info);

class CFramework : NonCopyable
{
public:
  CFramework(const mesos::FrameworkInfo& info, bool active);

  const locus_framework_info& get() const { return info_; }

private:
  std::string id;
  std::vector<std::string> roles;
  std::vector<const char*> rolePtrs;
  locus_framework_info info_;
};

// Mesos `used` maps as locus_allocation entries: one per (framework, role,
// agent), split by the allocation role carried in each Resource.
class CAllocations : NonCopyable
{
public:
  void add(const mesos::FrameworkID& frameworkId,
           const mesos::SlaveID& slaveId,
           const mesos::Resources& resources);

  // Pointers are taken only here, after every add().
  const locus_allocation* data();
  size_t size() const { return entries.size(); }

private:
  struct Entry
  {
    std::string framework, role, agent;
    std::unique_ptr<CScalars> scalars;
  };
  std::vector<Entry> entries;
  std::vector<locus_allocation> items;
};

// Data demand. `Some(names)` when the source names a demand (an empty list
// clears it), `None` when it says nothing about data.
Option<std::vector<std::string>> demandFromRequests(
    const std::vector<mesos::Request>& requests);
Option<std::vector<std::string>> demandFromLabels(const mesos::FrameworkInfo& info);

// What one task of the framework uses: the non-shared scalar resources of
// the first request that has any (the `locus.datasets` SET is not a
// scalar). `None` when no request names scalars.
Option<mesos::ResourceQuantities> taskResourcesFromRequests(
    const std::vector<mesos::Request>& requests);

class CDemand : NonCopyable
{
public:
  explicit CDemand(const std::vector<std::string>& datasets);

  const locus_demand_item* data() const { return items.empty() ? nullptr : items.data(); }
  size_t size() const { return items.size(); }

private:
  std::vector<std::string> names;
  std::vector<locus_demand_item> items;
};

// Refuse time of a decline, as Mesos's hierarchical allocator computes it:
// None -> 0 (no filter); negative or invalid -> the Filters default (5 s);
// over 365 days -> 365 days; a non-zero result is at least one allocation
// interval so the filter outlives the next allocation of the agent.
double refuseSeconds(const Option<mesos::Filters>& filters, double allocationIntervalSecs);

} // namespace mesos_adapter {
} // namespace locus {

#endif // LOCUS_MESOS_TRANSLATE_HPP
