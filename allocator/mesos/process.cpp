// The adapter's actor (see process.hpp): Mesos allocator events in, C core
// calls out, offers back to the master.
//
// Allocation runs like Mesos's hierarchical allocator: a loop dispatches a
// run every Options::allocationInterval, and the events that make Mesos
// allocate (framework added/activated/revived, agent added/updated,
// unavailability changed) request one too; requests coalesce while a run is
// pending. A run asks the core for offers (allocate(now)); the core names
// framework, role and agent and counts the agent's available scalars as
// offered. For each, this actor takes from the agent's Mesos resources what
// that role may receive there (unreserved plus the role's reservations, minus
// what the framework cannot take) and offers exactly that; the scalars the
// core counted but Mesos could not offer go straight back to the core. When
// nothing at all was offerable the core gets the agent back with a refuse
// filter of half an allocation interval, so a further round of the same run
// can give the agent to the next framework in fairness order (reservations
// for other roles are what this is for); rounds stop when nothing was handed
// back or after `offer_rounds`.

#include "process.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include <glog/logging.h>

#include <mesos/attributes.hpp>
#include <mesos/type_utils.hpp>

#include <process/after.hpp>
#include <process/clock.hpp>
#include <process/defer.hpp>
#include <process/delay.hpp>
#include <process/dispatch.hpp>
#include <process/id.hpp>
#include <process/loop.hpp>
#include <process/metrics/metrics.hpp>
#include <process/timeout.hpp>

#include <stout/stringify.hpp>
#include <stout/strings.hpp>

#include "translate.hpp"

using mesos::Attributes;
using mesos::FrameworkID;
using mesos::FrameworkInfo;
using mesos::Offer;
using mesos::Quota;
using mesos::Request;
using mesos::Resource;
using mesos::ResourceConversion;
using mesos::ResourceQuantities;
using mesos::Resources;
using mesos::SlaveID;
using mesos::SlaveInfo;
using mesos::Unavailability;
using mesos::UnavailableResources;
using mesos::WeightInfo;
using mesos::allocator::FrameworkOptions;
using mesos::allocator::InverseOfferStatus;
using mesos::allocator::OfferConstraintsFilter;

using process::Future;

namespace locus {
namespace mesos_adapter {

namespace {

FrameworkID frameworkIdOf(const std::string& value)
{
  FrameworkID id;
  id.set_value(value);
  return id;
}

SlaveID slaveIdOf(const std::string& value)
{
  SlaveID id;
  id.set_value(value);
  return id;
}

// The framework's own minimum for the role (FrameworkInfo.offer_filters),
// None when it sets none. Some(empty) means "any resources", as in Mesos.
Option<std::vector<ResourceQuantities>> minAllocatable(
    const FrameworkInfo& info, const std::string& role)
{
  auto it = info.offer_filters().find(role);
  if (it == info.offer_filters().end() || !it->second.has_min_allocatable_resources()) {
    return None();
  }
  std::vector<ResourceQuantities> result;
  for (const auto& quantities : it->second.min_allocatable_resources().quantities()) {
    result.emplace_back(quantities.quantities());
  }
  return result;
}

// Quota limits as quantities (the C core takes both parts alike).
ResourceQuantities quantitiesOf(const mesos::ResourceLimits& limits)
{
  google::protobuf::Map<std::string, mesos::Value::Scalar> map;
  for (const auto& limit : limits) {
    map[limit.first] = limit.second;
  }
  return ResourceQuantities(map);
}

} // namespace {


Resources LocusAllocatorProcess::Agent::available() const
{
  Resources used;
  foreachvalue (const Resources& resources, offeredOrAllocated) {
    used += resources;
  }
  used.unallocate();
  // Shared resources stay offerable while in use, as in Mesos.
  return (total.nonShared() - used.nonShared()) + total.shared();
}


void LocusAllocatorProcess::Agent::take(const FrameworkID& frameworkId, const Resources& resources)
{
  if (!resources.empty()) {
    offeredOrAllocated[frameworkId] += resources;
  }
}


void LocusAllocatorProcess::Agent::give(const FrameworkID& frameworkId, const Resources& resources)
{
  auto it = offeredOrAllocated.find(frameworkId);
  if (it == offeredOrAllocated.end()) {
    return;
  }
  it->second -= resources;
  if (it->second.empty()) {
    offeredOrAllocated.erase(it);
  }
}


LocusAllocatorProcess::LocusAllocatorProcess(Core* core_, const Params& params_)
  : ProcessBase(process::ID::generate("locus-allocator")),
    core(core_),
    params(params_) {}


LocusAllocatorProcess::~LocusAllocatorProcess() {}


double LocusAllocatorProcess::now() const
{
  // The libprocess clock: wall time in the master, pausable in Mesos tests.
  return process::Clock::now().secs();
}


void LocusAllocatorProcess::initialize(
    const mesos::allocator::Options& options_,
    const OfferCallback& offerCallback_,
    const InverseOfferCallback& inverseOfferCallback_)
{
  options = options_;
  offerCallback = offerCallback_;
  inverseOfferCallback = inverseOfferCallback_;
  initialized = true;
  paused = false;

  // Scalar names beyond what the plugin accounts stay with the adapter.
  const locus_allocator_api& api = core->api();
  setCoreNameCapacity(LOCUS_ALLOCATOR_HAS(&api, max_resource_names)
                        ? api.max_resource_names(core->handle())
                        : 16);  // every plugin before ABI 1.2 accounts 16

  metrics.reset(new Metrics(self(), [this]() {
    return static_cast<double>(eventCount<process::DispatchEvent>());
  }));

  if (options.fairnessExcludeResourceNames.isSome()) {
    if (coreHasRoles()) {
      std::vector<const char*> names;
      for (const std::string& name : options.fairnessExcludeResourceNames.get()) {
        names.push_back(name.c_str());
      }
      if (core->check(core->api().set_fairness_excluded(core->handle(), names.data(),
                                                        names.size()),
                      "set_fairness_excluded", stringify(names.size()) + " names")) {
        LOG(INFO) << "Resource names left out of dominant shares: "
                  << stringify(options.fairnessExcludeResourceNames.get());
      }
    } else {
      LOG(WARNING) << "--fair_sharing_excluded_resource_names is not applied: the Locus"
                   << " allocator plugin predates ABI 1.2; every scalar counts towards"
                   << " dominant shares";
    }
  }

  LOG(INFO) << "Initialized Locus allocator (plugin " << core->name() << " "
            << core->version() << " from " << core->path() << ", allocation interval "
            << options.allocationInterval << ")";

  // Periodic allocation, outside this actor so a slow run never skews it.
  process::PID<LocusAllocatorProcess> self_ = self();
  const Duration interval = options.allocationInterval;
  process::loop(
      None(),
      [interval]() { return process::after(interval); },
      [self_](const Nothing&) {
        return process::dispatch(self_, &LocusAllocatorProcess::generateOffers)
          .then([]() -> process::ControlFlow<Nothing> { return process::Continue(); });
      });
}


void LocusAllocatorProcess::finalize()
{
  metrics.reset();
}


void LocusAllocatorProcess::recover(
    int expectedAgentCount_, const hashmap<std::string, Quota>& quotas_)
{
  CHECK(initialized);

  // As Mesos: with quota configured, wait for most agents before allocating.
  if (quotas_.empty()) {
    return;
  }
  foreachpair (const std::string& role, const Quota& quota, quotas_) {
    updateQuota(role, quota);
  }
  expectedAgentCount =
    static_cast<int>(expectedAgentCount_ * options.agentRecoveryFactor);
  if (expectedAgentCount.get() == 0) {
    expectedAgentCount = None();
    return;
  }
  pause();
  process::delay(options.recoveryTimeout, self(), &LocusAllocatorProcess::resume);
  LOG(INFO) << "Locus allocator recovery: waiting for " << expectedAgentCount.get()
            << " agents or " << options.recoveryTimeout;
}


void LocusAllocatorProcess::setFrameworkInfo(Framework* framework, const FrameworkInfo& info)
{
  framework->info = info;
  framework->roles = frameworkRoles(info);
  framework->capabilities = Capabilities();
  for (const FrameworkInfo::Capability& capability : info.capabilities()) {
    switch (capability.type()) {
      case FrameworkInfo::Capability::GPU_RESOURCES:
        framework->capabilities.gpuResources = true; break;
      case FrameworkInfo::Capability::REVOCABLE_RESOURCES:
        framework->capabilities.revocableResources = true; break;
      case FrameworkInfo::Capability::SHARED_RESOURCES:
        framework->capabilities.sharedResources = true; break;
      case FrameworkInfo::Capability::MULTI_ROLE:
        framework->capabilities.multiRole = true; break;
      case FrameworkInfo::Capability::RESERVATION_REFINEMENT:
        framework->capabilities.reservationRefinement = true; break;
      case FrameworkInfo::Capability::REGION_AWARE:
        framework->capabilities.regionAware = true; break;
      default: break;
    }
  }
}


void LocusAllocatorProcess::applyDemand(
    const FrameworkID& frameworkId, const std::vector<std::string>& datasets, const char* source)
{
  CDemand demand(datasets);
  if (core->check(core->api().set_demand(core->handle(), frameworkId.value().c_str(),
                                         demand.data(), demand.size()),
                  "set_demand for framework", frameworkId.value())) {
    LOG(INFO) << "Locus data demand of framework " << frameworkId << " from " << source
              << ": " << (datasets.empty() ? std::string("(none)")
                                           : strings::join(",", datasets));
  }
}


void LocusAllocatorProcess::addFramework(
    const FrameworkID& frameworkId,
    const FrameworkInfo& frameworkInfo,
    const hashmap<SlaveID, Resources>& used,
    bool active,
    FrameworkOptions&& frameworkOptions)
{
  CHECK(initialized);
  if (frameworks.contains(frameworkId)) {
    LOG(ERROR) << "Ignoring addFramework for known framework " << frameworkId;
    return;
  }

  Framework framework;
  setFrameworkInfo(&framework, frameworkInfo);
  framework.active = active;
  framework.constraints.reset(
      new OfferConstraintsFilter(std::move(frameworkOptions.offerConstraintsFilter)));

  // Allocations on agents the allocator already knows; the agents carry
  // them already (addSlave), the core attributes them to this framework.
  CAllocations allocations;
  foreachpair (const SlaveID& slaveId, const Resources& resources, used) {
    if (agents.contains(slaveId)) {
      allocations.add(frameworkId, slaveId, resources);
    }
  }

  CFramework cframework(frameworkInfo, active);
  const locus_allocation* items = allocations.data();
  if (framework.roles.empty()) {
    framework.inCore = false;  // kept until it subscribes to a role
  } else if (!core->check(core->api().add_framework(core->handle(), &cframework.get(), items,
                                                    allocations.size(), now()),
                          "add_framework", frameworkId.value())) {
    return;
  }

  for (const std::string& role : frameworkOptions.suppressedRoles) {
    if (framework.roles.count(role) > 0 &&
        core->check(core->api().suppress(core->handle(), frameworkId.value().c_str(),
                                         role.c_str()),
                    "suppress for framework", frameworkId.value())) {
      framework.suppressedRoles.insert(role);
    }
  }

  framework.labelDemand = demandFromLabels(frameworkInfo);
  frameworks.emplace(frameworkId, std::move(framework));

  const Framework& added = frameworks.at(frameworkId);
  if (added.labelDemand.isSome() && added.inCore) {
    applyDemand(frameworkId, added.labelDemand.get(), "FrameworkInfo.labels");
  }

  LOG(INFO) << "Added framework " << frameworkId << " to Locus (roles "
            << stringify(added.roles) << ", suppressed " << stringify(added.suppressedRoles)
            << (active ? ")" : ", inactive)");

  if (active) {
    generateOffers();
  }
}


void LocusAllocatorProcess::removeFramework(const FrameworkID& frameworkId)
{
  CHECK(initialized);
  foreachvalue (Agent& agent, agents) {
    agent.offeredOrAllocated.erase(frameworkId);
  }
  offerFilters.erase(frameworkId);
  if (frameworks.contains(frameworkId)) {
    core->check(core->api().remove_framework(core->handle(), frameworkId.value().c_str()),
                "remove_framework", frameworkId.value());
    frameworks.erase(frameworkId);
  }
  LOG(INFO) << "Removed framework " << frameworkId << " from Locus";
}


void LocusAllocatorProcess::activateFramework(const FrameworkID& frameworkId)
{
  CHECK(initialized);
  auto it = frameworks.find(frameworkId);
  if (it == frameworks.end()) {
    return;
  }
  it->second.active = true;
  core->check(core->api().activate_framework(core->handle(), frameworkId.value().c_str()),
              "activate_framework", frameworkId.value());
  generateOffers();
}


void LocusAllocatorProcess::deactivateFramework(const FrameworkID& frameworkId)
{
  CHECK(initialized);
  auto it = frameworks.find(frameworkId);
  if (it == frameworks.end()) {
    return;
  }
  Framework& framework = it->second;
  framework.active = false;
  framework.inverseOfferFilters.clear();
  offerFilters.erase(frameworkId);
  // As Mesos: deactivation drops the framework's refuse filters. The core's
  // revive is what clears them; it also lifts suppression, which Mesos keeps,
  // so suppressed roles are suppressed again.
  for (const std::string& role : framework.roles) {
    core->check(core->api().revive(core->handle(), frameworkId.value().c_str(), role.c_str()),
                "revive (clear filters) for framework", frameworkId.value());
    if (framework.suppressedRoles.count(role) > 0) {
      core->check(core->api().suppress(core->handle(), frameworkId.value().c_str(), role.c_str()),
                  "suppress for framework", frameworkId.value());
    }
  }
  core->check(core->api().deactivate_framework(core->handle(), frameworkId.value().c_str()),
              "deactivate_framework", frameworkId.value());
}


void LocusAllocatorProcess::updateFramework(
    const FrameworkID& frameworkId,
    const FrameworkInfo& frameworkInfo,
    FrameworkOptions&& frameworkOptions)
{
  CHECK(initialized);
  auto it = frameworks.find(frameworkId);
  if (it == frameworks.end()) {
    LOG(ERROR) << "Ignoring updateFramework for unknown framework " << frameworkId;
    return;
  }
  Framework& framework = it->second;
  const std::set<std::string> oldSuppressed = framework.suppressedRoles;

  setFrameworkInfo(&framework, frameworkInfo);
  framework.constraints.reset(
      new OfferConstraintsFilter(std::move(frameworkOptions.offerConstraintsFilter)));

  CFramework cframework(frameworkInfo, framework.active);
  if (!framework.inCore) {
    if (framework.roles.empty()) {
      return;
    }
    if (!core->check(core->api().add_framework(core->handle(), &cframework.get(), nullptr, 0,
                                               now()),
                     "add_framework (first role)", frameworkId.value())) {
      return;
    }
    framework.inCore = true;
    framework.labelDemand = None();  // so the label demand below reaches the core
    LOG(INFO) << "Framework " << frameworkId << " subscribed to its first roles "
              << stringify(framework.roles) << "; added to Locus";
  } else {
    core->check(core->api().update_framework(core->handle(), &cframework.get()),
                "update_framework", frameworkId.value());
  }

  // Suppression follows the options exactly, for the roles still subscribed.
  std::set<std::string> suppressed;
  for (const std::string& role : frameworkOptions.suppressedRoles) {
    if (framework.roles.count(role) > 0) {
      suppressed.insert(role);
    }
  }
  const char* fid = frameworkId.value().c_str();
  for (const std::string& role : suppressed) {
    if (oldSuppressed.count(role) == 0) {
      core->check(core->api().suppress(core->handle(), fid, role.c_str()),
                  "suppress for framework", frameworkId.value());
    }
  }
  for (const std::string& role : oldSuppressed) {
    if (suppressed.count(role) == 0 && framework.roles.count(role) > 0) {
      core->check(core->api().revive(core->handle(), fid, role.c_str()),
                  "revive for framework", frameworkId.value());
    }
  }
  framework.suppressedRoles = suppressed;

  // A changed label replaces the demand; an unchanged one keeps whatever
  // requestResources set since.
  Option<std::vector<std::string>> labels = demandFromLabels(frameworkInfo);
  if (labels != framework.labelDemand) {
    framework.labelDemand = labels;
    applyDemand(frameworkId, labels.getOrElse(std::vector<std::string>()), "FrameworkInfo.labels");
  }
}


void LocusAllocatorProcess::coreAddAgent(const SlaveID& slaveId, const Agent& agent)
{
  CAgent cagent(agent.info, agent.total, params.rackAttribute);
  CAllocations allocations;
  foreachpair (const FrameworkID& frameworkId, const Resources& resources,
               agent.offeredOrAllocated) {
    allocations.add(frameworkId, slaveId, resources);
  }
  const locus_allocation* items = allocations.data();
  const bool added = core->check(core->api().add_agent(core->handle(), &cagent.get(), items,
                                                       allocations.size(), now()),
                                 "add_agent", slaveId.value());
  if (!added) {
    if (metrics) {
      ++metrics->agentsRefused;
    }
    const locus_allocator_api& api = core->api();
    LOG(ERROR) << "Locus allocator plugin refused agent " << slaveId << " ("
               << agent.info.hostname() << ", " << agent.total
               << "): it will not be offered; see the warning above for the reason"
               << (LOCUS_ALLOCATOR_HAS(&api, max_resource_names)
                     ? " (the plugin accounts at most " +
                         stringify(api.max_resource_names(core->handle())) +
                         " scalar resource names; build it with a larger"
                         " -DLOCUS_MAX_RESOURCE_NAMES)"
                     : std::string());
  } else if (!agent.coreActive) {
    core->check(core->api().deactivate_agent(core->handle(), slaveId.value().c_str()),
                "deactivate_agent", slaveId.value());
  }
}


void LocusAllocatorProcess::coreResyncAgent(const SlaveID& slaveId, const Agent& agent)
{
  // For changes the ABI has no call for (allocations added to a known agent,
  // allocation quantities changed by a conversion, changed attributes that
  // must drop refuse filters as Mesos does): re-add the agent with everything
  // the adapter counts as offered or allocated on it.
  core->check(core->api().remove_agent(core->handle(), slaveId.value().c_str()),
              "remove_agent (resync)", slaveId.value());
  coreAddAgent(slaveId, agent);
}


void LocusAllocatorProcess::coreUpdateAgentTotal(
    const SlaveID& slaveId, const Agent& agent, const Resources& oldTotal)
{
  if (coreQuantities(oldTotal) == coreQuantities(agent.total)) {
    return;
  }
  CAgent cagent(agent.info, agent.total, params.rackAttribute);
  core->check(core->api().update_agent(core->handle(), &cagent.get()),
              "update_agent", slaveId.value());
}


void LocusAllocatorProcess::syncAgentActive(const SlaveID& slaveId, Agent* agent)
{
  const bool whitelisted =
    whitelist.isNone() || whitelist->contains(agent->info.hostname());
  const bool active = agent->activated && whitelisted;
  if (active == agent->coreActive) {
    return;
  }
  agent->coreActive = active;
  const char* id = slaveId.value().c_str();
  if (active) {
    core->check(core->api().activate_agent(core->handle(), id), "activate_agent", slaveId.value());
  } else {
    core->check(core->api().deactivate_agent(core->handle(), id), "deactivate_agent",
                slaveId.value());
  }
}


void LocusAllocatorProcess::addSlave(
    const SlaveID& slaveId,
    const SlaveInfo& slaveInfo,
    const std::vector<SlaveInfo::Capability>& capabilities,
    const Option<Unavailability>& unavailability,
    const Resources& total,
    const hashmap<FrameworkID, Resources>& used)
{
  CHECK(initialized);
  if (agents.contains(slaveId)) {
    LOG(ERROR) << "Ignoring addSlave for known agent " << slaveId;
    return;
  }

  Agent agent;
  agent.info = slaveInfo;
  for (const SlaveInfo::Capability& capability : capabilities) {
    agent.multiRole |= capability.type() == SlaveInfo::Capability::MULTI_ROLE;
    agent.hierarchicalRole |= capability.type() == SlaveInfo::Capability::HIERARCHICAL_ROLE;
  }
  agent.total = total;
  // All used resources count, also those of frameworks not yet re-added:
  // they are occupied whoever holds them.
  foreachpair (const FrameworkID& frameworkId, const Resources& resources, used) {
    agent.take(frameworkId, resources);
  }
  if (unavailability.isSome()) {
    agent.maintenance = Maintenance(unavailability.get());
  }
  agent.activated = true;
  agent.coreActive = whitelist.isNone() || whitelist->contains(slaveInfo.hostname());

  coreAddAgent(slaveId, agent);
  agents.emplace(slaveId, std::move(agent));

  if (paused && expectedAgentCount.isSome() &&
      static_cast<int>(agents.size()) >= expectedAgentCount.get()) {
    LOG(INFO) << "Locus allocator recovery complete: " << agents.size() << " agents";
    expectedAgentCount = None();
    resume();
  }

  LOG(INFO) << "Added agent " << slaveId << " (" << slaveInfo.hostname() << ", rack '"
            << agentRack(slaveInfo, params.rackAttribute) << "') with " << total
            << " to Locus";
  generateOffers();
}


void LocusAllocatorProcess::removeSlave(const SlaveID& slaveId)
{
  CHECK(initialized);
  if (!agents.contains(slaveId)) {
    return;
  }
  core->check(core->api().remove_agent(core->handle(), slaveId.value().c_str()),
              "remove_agent", slaveId.value());
  agents.erase(slaveId);
  foreachvalue (Framework& framework, frameworks) {
    framework.inverseOfferFilters.erase(slaveId);
  }
  foreachvalue (auto& byRole, offerFilters) {
    foreachvalue (auto& byAgent, byRole) {
      byAgent.erase(slaveId);
    }
  }
  LOG(INFO) << "Removed agent " << slaveId << " from Locus";
}


void LocusAllocatorProcess::updateSlave(
    const SlaveID& slaveId,
    const SlaveInfo& info,
    const Option<Resources>& total,
    const Option<std::vector<SlaveInfo::Capability>>& capabilities)
{
  CHECK(initialized);
  auto it = agents.find(slaveId);
  if (it == agents.end()) {
    LOG(ERROR) << "Ignoring updateSlave for unknown agent " << slaveId;
    return;
  }
  Agent& agent = it->second;
  bool updated = false;

  const bool attributesChanged =
    !(Attributes(info.attributes()) == Attributes(agent.info.attributes()));
  const bool infoChanged = !(agent.info == info);
  const std::string oldRack = agentRack(agent.info, params.rackAttribute);
  agent.info = info;
  updated |= infoChanged;

  if (capabilities.isSome()) {
    bool multiRole = false, hierarchicalRole = false;
    for (const SlaveInfo::Capability& capability : capabilities.get()) {
      multiRole |= capability.type() == SlaveInfo::Capability::MULTI_ROLE;
      hierarchicalRole |= capability.type() == SlaveInfo::Capability::HIERARCHICAL_ROLE;
    }
    updated |= multiRole != agent.multiRole || hierarchicalRole != agent.hierarchicalRole;
    agent.multiRole = multiRole;
    agent.hierarchicalRole = hierarchicalRole;
  }

  const Resources oldTotal = agent.total;
  if (total.isSome()) {
    updated |= !(total.get() == agent.total);
    agent.total = total.get();
  }

  if (attributesChanged) {
    // Mesos drops every refuse filter of a re-attributed agent.
    coreResyncAgent(slaveId, agent);
  } else if (oldRack != agentRack(info, params.rackAttribute) ||
             coreQuantities(oldTotal) != coreQuantities(agent.total)) {
    CAgent cagent(agent.info, agent.total, params.rackAttribute);
    core->check(core->api().update_agent(core->handle(), &cagent.get()), "update_agent",
                slaveId.value());
  }
  syncAgentActive(slaveId, &agent);

  if (updated) {
    generateOffers();
  }
}


void LocusAllocatorProcess::addResourceProvider(
    const SlaveID& slaveId, const Resources& total, const hashmap<FrameworkID, Resources>& used)
{
  CHECK(initialized);
  auto it = agents.find(slaveId);
  if (it == agents.end()) {
    LOG(ERROR) << "Ignoring addResourceProvider for unknown agent " << slaveId;
    return;
  }
  Agent& agent = it->second;
  agent.total += total;
  foreachpair (const FrameworkID& frameworkId, const Resources& resources, used) {
    if (frameworks.contains(frameworkId)) {
      agent.take(frameworkId, resources);
    }
  }
  coreResyncAgent(slaveId, agent);
  VLOG(1) << "Grew agent " << slaveId << " by " << total << " (total), " << used << " (used)";
}


void LocusAllocatorProcess::activateSlave(const SlaveID& slaveId)
{
  CHECK(initialized);
  auto it = agents.find(slaveId);
  if (it != agents.end()) {
    it->second.activated = true;
    syncAgentActive(slaveId, &it->second);
  }
}


void LocusAllocatorProcess::deactivateSlave(const SlaveID& slaveId)
{
  CHECK(initialized);
  auto it = agents.find(slaveId);
  if (it != agents.end()) {
    it->second.activated = false;
    syncAgentActive(slaveId, &it->second);
  }
}


void LocusAllocatorProcess::updateWhitelist(const Option<hashset<std::string>>& whitelist_)
{
  CHECK(initialized);
  whitelist = whitelist_;
  if (whitelist.isSome()) {
    LOG(INFO) << "Updated agent whitelist: " << stringify(whitelist.get());
    if (whitelist->empty()) {
      LOG(WARNING) << "Whitelist is empty, no offers will be made!";
    }
  } else {
    LOG(INFO) << "Advertising offers for all agents";
  }
  foreachpair (const SlaveID& slaveId, Agent& agent, agents) {
    syncAgentActive(slaveId, &agent);
  }
}


void LocusAllocatorProcess::requestResources(
    const FrameworkID& frameworkId, const std::vector<Request>& requests)
{
  CHECK(initialized);
  if (!frameworks.contains(frameworkId)) {
    return;
  }
  Option<std::vector<std::string>> demand = demandFromRequests(requests);
  Option<ResourceQuantities> perTask = taskResourcesFromRequests(requests);
  if (demand.isNone() && perTask.isNone()) {
    LOG(INFO) << "Received resource request from framework " << frameworkId
              << " without a " << DEMAND_NAME << " resource or scalars; ignored";
    return;
  }
  if (demand.isSome()) {
    applyDemand(frameworkId, demand.get(), "requestResources");
  }
  if (perTask.isSome()) {
    applyTaskResources(frameworkId, perTask.get());
  }
}


void LocusAllocatorProcess::applyTaskResources(
    const FrameworkID& frameworkId, const ResourceQuantities& perTask)
{
  // ABI 1.1: a plugin built before it has no such callback (its table ends
  // earlier); offers then stay whole agents, as in Mesos.
  const locus_allocator_api& api = core->api();
  if (api.struct_size < offsetof(locus_allocator_api, set_task_resources) + sizeof(void*) ||
      api.set_task_resources == nullptr) {
    LOG(INFO) << "Locus allocator plugin does not take task resources; request of framework "
              << frameworkId << " keeps whole-agent offers";
    return;
  }
  // Only names some agent offers: a task size in a name no agent has slices
  // nothing, and must not take one of the core's resource-name slots.
  google::protobuf::Map<std::string, mesos::Value::Scalar> known;
  for (const auto& quantity : perTask) {
    bool offered = agents.empty();  // nothing to check against yet
    foreachvalue (const Agent& agent, agents) {
      if (agent.total.names().count(quantity.first) > 0) {
        offered = true;
        break;
      }
    }
    if (offered && !coreAccounts(quantity.first)) {
      LOG(WARNING) << "Task resource '" << quantity.first << "' of framework " << frameworkId
                   << " is not accounted by the plugin; left out of the task size";
    } else if (offered) {
      known[quantity.first] = quantity.second;
    } else {
      LOG(WARNING) << "Task resource '" << quantity.first << "' of framework " << frameworkId
                   << " is offered by no agent; ignored";
    }
  }
  if (known.empty()) {
    return;
  }
  CScalars scalars{ResourceQuantities(known)};
  if (core->check(api.set_task_resources(core->handle(), frameworkId.value().c_str(),
                                         &scalars.get()),
                  "set_task_resources for framework", frameworkId.value())) {
    LOG(INFO) << "Locus task resources of framework " << frameworkId
              << " from requestResources: " << stringify(perTask);
  }
}


void LocusAllocatorProcess::updateAllocation(
    const FrameworkID& frameworkId,
    const SlaveID& slaveId,
    const Resources& offeredResources,
    const std::vector<ResourceConversion>& conversions)
{
  CHECK(initialized);
  auto it = agents.find(slaveId);
  if (it == agents.end() || !frameworks.contains(frameworkId)) {
    LOG(ERROR) << "Ignoring updateAllocation for unknown framework " << frameworkId
               << " or agent " << slaveId;
    return;
  }
  Agent& agent = it->second;

  Try<Resources> updated = offeredResources.apply(conversions);
  if (updated.isError()) {
    LOG(ERROR) << "Cannot apply conversions to " << offeredResources << " of framework "
               << frameworkId << " on agent " << slaveId << ": " << updated.error();
    return;
  }

  // The agent's total follows its allocation (unallocated form; conversions
  // that only add shared copies leave the total alone), as in Mesos.
  std::vector<ResourceConversion> stripped;
  for (const ResourceConversion& conversion : conversions) {
    if (conversion.consumed.empty()) {
      continue;
    }
    Resources consumed = conversion.consumed, converted = conversion.converted;
    consumed.unallocate();
    converted.unallocate();
    stripped.emplace_back(consumed, converted);
  }
  Try<Resources> total = agent.total.apply(stripped);
  if (total.isError()) {
    LOG(ERROR) << "Cannot apply conversions to the total of agent " << slaveId << ": "
               << total.error();
    return;
  }

  agent.give(frameworkId, offeredResources);
  agent.take(frameworkId, updated.get());
  const Resources oldTotal = agent.total;
  agent.total = total.get();

  // Reserving or creating a volume keeps quantities: nothing for the core.
  if (coreQuantities(offeredResources) != coreQuantities(updated.get()) ||
      coreQuantities(oldTotal) != coreQuantities(agent.total)) {
    coreResyncAgent(slaveId, agent);
  }
  LOG(INFO) << "Updated allocation of framework " << frameworkId << " on agent " << slaveId
            << " from " << offeredResources << " to " << updated.get();
}


Future<Nothing> LocusAllocatorProcess::updateAvailable(
    const SlaveID& slaveId, const std::vector<Offer::Operation>& operations)
{
  CHECK(initialized);
  auto it = agents.find(slaveId);
  if (it == agents.end()) {
    return process::Failure("unknown agent " + slaveId.value());
  }
  Agent& agent = it->second;

  // May fail when a run offered the resources just before this call, as in
  // Mesos; the master then retries or reports the operation as failed.
  Try<Resources> available = agent.available().apply(operations);
  if (available.isError()) {
    VLOG(1) << "Failed to update available resources on agent " << slaveId << ": "
            << available.error();
    return process::Failure(available.error());
  }
  Try<Resources> total = agent.total.apply(operations);
  if (total.isError()) {
    return process::Failure(total.error());
  }
  const Resources oldTotal = agent.total;
  agent.total = total.get();
  coreUpdateAgentTotal(slaveId, agent, oldTotal);
  return Nothing();
}


void LocusAllocatorProcess::updateUnavailability(
    const SlaveID& slaveId, const Option<Unavailability>& unavailability)
{
  CHECK(initialized);
  auto it = agents.find(slaveId);
  if (it == agents.end()) {
    return;
  }
  // New maintenance: frameworks must reconsider, so their inverse offer
  // filters for this agent go, as in Mesos.
  foreachvalue (Framework& framework, frameworks) {
    framework.inverseOfferFilters.erase(slaveId);
  }
  it->second.maintenance = None();
  if (unavailability.isSome()) {
    it->second.maintenance = Maintenance(unavailability.get());
  }
  generateOffers();
}


void LocusAllocatorProcess::updateInverseOffer(
    const SlaveID& slaveId,
    const FrameworkID& frameworkId,
    const Option<UnavailableResources>& /*unavailableResources*/,
    const Option<InverseOfferStatus>& status,
    const Option<mesos::Filters>& filters)
{
  CHECK(initialized);
  auto agent = agents.find(slaveId);
  auto framework = frameworks.find(frameworkId);
  if (agent == agents.end() || framework == frameworks.end() ||
      agent->second.maintenance.isNone()) {
    return;
  }
  Maintenance& maintenance = agent->second.maintenance.get();
  if (maintenance.offersOutstanding.contains(frameworkId)) {
    maintenance.offersOutstanding.erase(frameworkId);
    if (status.isSome() && status->status() != InverseOfferStatus::UNKNOWN) {
      maintenance.statuses[frameworkId].CopyFrom(status.get());
    }
  }
  if (filters.isNone()) {
    return;
  }
  // Same bounds as offer filters, without the allocation-interval floor
  // (Mesos applies none to inverse offers either).
  const double seconds = refuseSeconds(filters, 0.0);
  if (seconds > 0) {
    framework->second.inverseOfferFilters[slaveId] = process::Timeout::in(
        Milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000))));
  }
}


Future<InverseOfferStatuses> LocusAllocatorProcess::getInverseOfferStatuses()
{
  CHECK(initialized);
  InverseOfferStatuses result;
  foreachpair (const SlaveID& slaveId, const Agent& agent, agents) {
    if (agent.maintenance.isSome()) {
      result[slaveId] = agent.maintenance->statuses;
    }
  }
  return result;
}


void LocusAllocatorProcess::transitionOfferedToAllocated(
    const SlaveID& slaveId, const Resources& resources)
{
  // Mesos uses this to count consumed quota. Locus counts offered and
  // allocated resources alike towards quota (as Mesos 1.12 does for limits),
  // so there is nothing to move.
  VLOG(2) << "Offered resources " << resources << " on agent " << slaveId
          << " became allocated";
}


void LocusAllocatorProcess::recoverResources(
    const FrameworkID& frameworkId,
    const SlaveID& slaveId,
    const Resources& resources,
    const Option<mesos::Filters>& filters,
    bool /*isAllocated*/)
{
  CHECK(initialized);
  if (resources.empty()) {
    return;
  }
  // The framework or agent may be gone already (offer in flight while it was
  // removed): everything it held was released then.
  auto agent = agents.find(slaveId);
  if (agent == agents.end() || !frameworks.contains(frameworkId)) {
    return;
  }
  auto held = agent->second.offeredOrAllocated.find(frameworkId);
  if (held == agent->second.offeredOrAllocated.end() || !held->second.contains(resources)) {
    LOG(WARNING) << "Ignoring recovery of " << resources << " on agent " << slaveId
                 << " from framework " << frameworkId << ": not offered or allocated to it";
    return;
  }
  agent->second.give(frameworkId, resources);

  const double refuse = refuseSeconds(filters, options.allocationInterval.secs());
  // Each role gets back what was allocated in it (a multi-role framework's
  // resources are never charged to another of its roles).
  hashmap<std::string, Resources> byRole = resources.allocations();
  if (byRole.empty()) {
    byRole[""] = resources;  // not in allocated form: the core picks the role
  }
  foreachpair (const std::string& role, const Resources& part, byRole) {
    const ResourceQuantities quantities = coreQuantities(part);
    if (quantities.empty() && refuse == 0.0) {
      continue;
    }
    coreRecover(frameworkId.value(), role, slaveId.value(), quantities, refuse,
                "recover for framework");
    if (refuse > 0) {
      offerFilters[frameworkId][role][slaveId] =
        process::Timeout::in(Milliseconds(static_cast<int64_t>(std::ceil(refuse * 1000))));
    }
  }
  VLOG(1) << "Recovered " << resources << " on agent " << slaveId << " from framework "
          << frameworkId << (refuse > 0 ? " (refused for " + stringify(refuse) + "s)" : "");
}


void LocusAllocatorProcess::suppressOffers(
    const FrameworkID& frameworkId, const std::set<std::string>& roles)
{
  CHECK(initialized);
  auto it = frameworks.find(frameworkId);
  if (it == frameworks.end()) {
    return;
  }
  Framework& framework = it->second;
  for (const std::string& role : roles.empty() ? framework.roles : roles) {
    if (core->check(core->api().suppress(core->handle(), frameworkId.value().c_str(),
                                         role.c_str()),
                    "suppress for framework", frameworkId.value())) {
      framework.suppressedRoles.insert(role);
    }
  }
  LOG(INFO) << "Suppressed offers for roles "
            << stringify(roles.empty() ? framework.roles : roles) << " of framework "
            << frameworkId;
}


void LocusAllocatorProcess::reviveOffers(
    const FrameworkID& frameworkId, const std::set<std::string>& roles)
{
  CHECK(initialized);
  auto it = frameworks.find(frameworkId);
  if (it == frameworks.end()) {
    return;
  }
  Framework& framework = it->second;
  framework.inverseOfferFilters.clear();
  // The core's revive clears every refuse filter of the framework.
  offerFilters.erase(frameworkId);
  for (const std::string& role : roles.empty() ? framework.roles : roles) {
    if (core->check(core->api().revive(core->handle(), frameworkId.value().c_str(),
                                       role.c_str()),
                    "revive for framework", frameworkId.value())) {
      framework.suppressedRoles.erase(role);
    }
  }
  LOG(INFO) << "Revived offers and cleared filters for roles "
            << stringify(roles.empty() ? framework.roles : roles) << " of framework "
            << frameworkId;
  generateOffers();
}


void LocusAllocatorProcess::updateQuota(const std::string& role, const Quota& quota)
{
  CHECK(initialized);
  quotas[role] = quota;
  if (quota.guarantees.empty() && quota.limits.empty()) {
    quotas.erase(role);  // the default quota, as Mesos drops it
  }
  coreSetQuota(role, quota);
}


bool LocusAllocatorProcess::coreHasRoles() const
{
  const locus_allocator_api& api = core->api();
  return LOCUS_ALLOCATOR_HAS(&api, set_quota) &&
         LOCUS_ALLOCATOR_HAS(&api, set_fairness_excluded) &&
         LOCUS_ALLOCATOR_HAS(&api, recover_role);
}


void LocusAllocatorProcess::coreSetQuota(const std::string& role, const Quota& quota)
{
  if (!coreHasRoles()) {
    if (!quota.guarantees.empty() || !quota.limits.empty()) {
      LOG(WARNING) << "Quota for role '" << role << "' (guarantees " << quota.guarantees
                   << ", limits " << quota.limits << ") is not enforced: the Locus allocator"
                   << " plugin predates ABI 1.2";
    }
    return;
  }
  CScalars guarantees(quota.guarantees), limits(quantitiesOf(quota.limits));
  if (core->check(core->api().set_quota(core->handle(), role.c_str(), &guarantees.get(),
                                        &limits.get()),
                  "set_quota for role", role)) {
    LOG(INFO) << "Quota of role '" << role << "': guarantees " << quota.guarantees
              << ", limits " << quota.limits;
  }
}


void LocusAllocatorProcess::coreRecover(
    const std::string& frameworkId, const std::string& role, const std::string& agentId,
    const ResourceQuantities& quantities, double refuseSecs, const char* what)
{
  CScalars scalars(quantities);
  if (!role.empty() && coreHasRoles()) {
    core->check(core->api().recover_role(core->handle(), frameworkId.c_str(), role.c_str(),
                                         agentId.c_str(), &scalars.get(), refuseSecs, now()),
                what, frameworkId);
    return;
  }
  core->check(core->api().recover(core->handle(), frameworkId.c_str(), agentId.c_str(),
                                  &scalars.get(), refuseSecs, now()),
              what, frameworkId);
}


void LocusAllocatorProcess::updateWeights(const std::vector<WeightInfo>& weightInfos)
{
  CHECK(initialized);
  std::vector<std::string> roles;
  std::vector<double> weights;
  for (const WeightInfo& info : weightInfos) {
    if (info.has_role()) {
      roles.push_back(info.role());
      weights.push_back(info.weight());
    }
  }
  std::vector<const char*> rolePtrs;
  for (const std::string& role : roles) {
    rolePtrs.push_back(role.c_str());
  }
  if (!roles.empty()) {
    core->check(core->api().update_weights(core->handle(), rolePtrs.data(), weights.data(),
                                           roles.size()),
                "update_weights", stringify(roles.size()) + " roles");
  }
  // As Mesos: a weight change shows in later runs; it triggers none.
}


void LocusAllocatorProcess::pause()
{
  if (!paused) {
    paused = true;
    core->api().pause(core->handle());
    VLOG(1) << "Allocation paused";
  }
}


void LocusAllocatorProcess::resume()
{
  if (paused) {
    paused = false;
    core->api().resume(core->handle());
    VLOG(1) << "Allocation resumed";
  }
}


Future<Nothing> LocusAllocatorProcess::generateOffers()
{
  if (paused) {
    return Nothing();
  }
  // Coalesce: events arriving while a run is queued share it.
  if (pendingRun.isNone() || !pendingRun->isPending()) {
    if (metrics && !latencyTimed) {
      metrics->allocationRunLatency.start();
      latencyTimed = true;
    }
    pendingRun = process::dispatch(self(), [this]() -> Nothing {
      runAllocation();
      return Nothing();
    });
  }
  return pendingRun.get();
}


bool LocusAllocatorProcess::isRemote(const Agent& agent) const
{
  if (!agent.info.has_domain() || !agent.info.domain().has_fault_domain() ||
      options.domain.isNone() || !options.domain->has_fault_domain()) {
    return false;
  }
  return agent.info.domain().fault_domain().region().name() !=
         options.domain->fault_domain().region().name();
}


Resources LocusAllocatorProcess::offerable(
    const Framework& framework, const std::string& role, const Agent& agent,
    const Resources& sharedOfferedThisRun) const
{
  // The filters Mesos applies per (framework, role, agent) that the core
  // cannot see: agent/framework capabilities, offer constraints, GPUs,
  // regions, reservations, resource kinds, minimum allocatable.
  if (!framework.active || framework.suppressedRoles.count(role) > 0 ||
      framework.roles.count(role) == 0 || !agent.coreActive) {
    return Resources();
  }
  if (framework.capabilities.multiRole && !agent.multiRole) {
    return Resources();
  }
  if (!agent.hierarchicalRole && strings::contains(role, "/")) {
    return Resources();
  }
  if (framework.constraints && framework.constraints->isAgentExcluded(role, agent.info)) {
    return Resources();
  }
  if (options.filterGpuResources && !framework.capabilities.gpuResources &&
      agent.total.gpus().getOrElse(0) > 0) {
    return Resources();
  }
  if (!framework.capabilities.regionAware && isRemote(agent)) {
    return Resources();
  }

  // A shared resource is offered once per run, as in Mesos.
  Resources available = agent.available().allocatableTo(role) - sharedOfferedThisRun;
  const Capabilities& caps = framework.capabilities;
  available = available.filter([&caps](const Resource& resource) {
    return (caps.sharedResources || !Resources::isShared(resource)) &&
           (caps.revocableResources || !Resources::isRevocable(resource)) &&
           (caps.reservationRefinement || !Resources::hasRefinedReservations(resource));
  });
  if (available.empty()) {
    return Resources();
  }

  const Option<std::vector<ResourceQuantities>> own = minAllocatable(framework.info, role);
  const std::vector<ResourceQuantities>* minimum =
    own.isSome() ? &own.get()
                 : options.minAllocatableResources.isSome()
                     ? &options.minAllocatableResources.get()
                     : nullptr;
  if (minimum != nullptr && !minimum->empty() &&
      std::none_of(minimum->begin(), minimum->end(), [&available](const ResourceQuantities& q) {
        return available.contains(q);
      })) {
    return Resources();
  }
  return available;
}


void LocusAllocatorProcess::giveBack(
    const std::string& frameworkId, const std::string& role, const std::string& agentId,
    const ResourceQuantities& quantities, double refuseSecs)
{
  coreRecover(frameworkId, role, agentId, quantities, refuseSecs,
              "recover (unofferable part) for framework");
}


void LocusAllocatorProcess::runAllocation()
{
  if (paused || !initialized) {
    return;
  }
  ++metrics->allocationRuns;
  ++metrics->locusAllocationRuns;
  if (latencyTimed) {
    metrics->allocationRunLatency.stop();
    latencyTimed = false;
  }
  metrics->allocationRun.start();

  hashmap<FrameworkID, hashmap<std::string, hashmap<SlaveID, Resources>>> offers;
  hashmap<SlaveID, Resources> offeredShared;
  const double t = now();
  // Keeps the framework from the agent for the rest of this run only.
  const double withinRun = std::max(0.001, options.allocationInterval.secs() / 2);

  struct CoreOffer
  {
    std::string framework, role, agent;
    ResourceQuantities quantities;
  };

  // Each round that hands an agent back keeps that (framework, agent) apart
  // for the rest of the run, so an agent needs at most one round per
  // framework role ahead of the one that can use it: allow that many, so
  // frameworks that cannot use an agent (capabilities, reservations,
  // constraints) never starve the ones that can, as in Mesos's single pass.
  size_t frameworkRoles = 0;
  foreachvalue (const Framework& framework, frameworks) {
    frameworkRoles += framework.roles.size();
  }
  const size_t rounds = std::max<size_t>(static_cast<size_t>(params.offerRounds),
                                         frameworkRoles + 1);
  for (size_t round = 0; round < rounds; round++) {
    locus_offer_list list = {nullptr, 0};
    if (!core->check(core->api().allocate(core->handle(), t, &list), "allocate", "")) {
      break;
    }
    // Copied first: the list lives only until the next call on the core.
    std::vector<CoreOffer> coreOffers;
    for (size_t i = 0; i < list.n; i++) {
      const locus_offer& offer = list.offers[i];
      coreOffers.push_back(CoreOffer{offer.framework_id, offer.role ? offer.role : "",
                                     offer.agent_id, fromC(offer.resources)});
      VLOG(1) << "Locus offers agent " << offer.agent_id << " to framework "
              << offer.framework_id << " role " << (offer.role ? offer.role : "")
              << " (level " << offer.locality.level << ": "
              << (offer.reason ? offer.reason : "") << ")";
    }

    bool handedBack = false;
    for (const CoreOffer& offer : coreOffers) {
      const FrameworkID frameworkId = frameworkIdOf(offer.framework);
      const SlaveID slaveId = slaveIdOf(offer.agent);
      auto framework = frameworks.find(frameworkId);
      auto agent = agents.find(slaveId);
      if (framework == frameworks.end() || agent == agents.end()) {
        LOG(WARNING) << "Locus offered unknown agent " << offer.agent << " or framework "
                     << offer.framework << "; giving it back";
        giveBack(offer.framework, offer.role, offer.agent, offer.quantities, 0.0);
        continue;
      }

      // Exactly the slice the core charged, or accounting drifts and the
      // decline of a bigger offer fails in the core.
      Resources toOffer = sliceOf(
        offerable(framework->second, offer.role, agent->second, offeredShared[slaveId]),
        offer.quantities);
      if (toOffer.empty()) {
        ++metrics->coreOffersUnusable;
        handedBack = true;
        giveBack(offer.framework, offer.role, offer.agent, offer.quantities, withinRun);
        continue;
      }

      const ResourceQuantities used = coreQuantities(toOffer);
      if (!offer.quantities.contains(used)) {
        LOG(WARNING) << "Locus counted " << offer.quantities << " offered on agent "
                     << offer.agent << " but Mesos offers " << used
                     << "; the core's view of the agent lags behind";
      }
      const ResourceQuantities leftover = offer.quantities - used;
      if (!leftover.empty()) {
        handedBack = true;
        giveBack(offer.framework, offer.role, offer.agent, leftover, 0.0);
      }

      offeredShared[slaveId] += toOffer.shared();
      toOffer.allocate(offer.role);
      agent->second.take(frameworkId, toOffer);
      offers[frameworkId][offer.role][slaveId] += toOffer;
    }
    if (coreOffers.empty() || !handedBack) {
      break;
    }
  }

  foreachpair (const FrameworkID& frameworkId, const auto& byRole, offers) {
    foreachvalue (const auto& byAgent, byRole) {
      metrics->offersSent += static_cast<int64_t>(byAgent.size());
    }
    offerCallback(frameworkId, byRole);
  }

  generateInverseOffers();
  refreshStatus();
  updateLevelMetrics();
  metrics->allocationRun.stop();
}


void LocusAllocatorProcess::generateInverseOffers()
{
  // As Mesos: one inverse offer per (framework with resources on an agent
  // under maintenance), not repeated while one is outstanding or filtered.
  hashmap<FrameworkID, hashmap<SlaveID, UnavailableResources>> inverse;
  foreachpair (const SlaveID& slaveId, Agent& agent, agents) {
    if (agent.maintenance.isNone()) {
      continue;
    }
    Maintenance& maintenance = agent.maintenance.get();
    foreachkey (const FrameworkID& frameworkId, agent.offeredOrAllocated) {
      auto framework = frameworks.find(frameworkId);
      if (framework == frameworks.end() || !framework->second.active ||
          maintenance.offersOutstanding.contains(frameworkId)) {
        continue;
      }
      auto filter = framework->second.inverseOfferFilters.find(slaveId);
      if (filter != framework->second.inverseOfferFilters.end()) {
        if (!filter->second.expired()) {
          continue;
        }
        framework->second.inverseOfferFilters.erase(filter);
      }
      inverse[frameworkId][slaveId] = UnavailableResources{Resources(), maintenance.unavailability};
      maintenance.offersOutstanding.insert(frameworkId);
    }
  }
  foreachpair (const FrameworkID& frameworkId, const auto& byAgent, inverse) {
    inverseOfferCallback(frameworkId, byAgent);
  }
}


void LocusAllocatorProcess::refreshStatus()
{
  locus_allocator_status fresh = {};
  fresh.struct_size = sizeof fresh;
  if (core->api().status != nullptr && core->api().status(core->handle(), &fresh) == 0) {
    status = fresh;
    if (metrics) {
      metrics->updateCore(fresh);
    }
  }
}


void LocusAllocatorProcess::updateLevelMetrics()
{
  // As Mesos's allocator names them; shares leave out the
  // --fair_sharing_excluded_resource_names, as Mesos's sorter does.
  std::map<std::string, double> levels;
  Resources total, offered;
  hashmap<std::string, Resources> byRole;
  foreachvalue (const Agent& agent, agents) {
    total += agent.total;
    foreachvalue (const Resources& resources, agent.offeredOrAllocated) {
      offered += resources;
      foreachpair (const std::string& role, const Resources& r, resources.allocations()) {
        byRole[role] += r;
      }
    }
  }
  const ResourceQuantities totals = scalarQuantities(total);
  for (const auto& q : totals) {
    levels["allocator/mesos/resources/" + q.first + "/total"] = q.second.value();
    levels["allocator/mesos/resources/" + q.first + "/offered_or_allocated"] = 0;
  }
  for (const auto& q : scalarQuantities(offered)) {
    levels["allocator/mesos/resources/" + q.first + "/offered_or_allocated"] = q.second.value();
  }
  std::set<std::string> roles;
  foreachvalue (const Framework& framework, frameworks) {
    roles.insert(framework.roles.begin(), framework.roles.end());
  }
  foreachkey (const std::string& role, byRole) {
    roles.insert(role);
  }
  for (const std::string& role : roles) {
    double share = 0;
    const ResourceQuantities held = byRole.contains(role) ? scalarQuantities(byRole[role])
                                                          : ResourceQuantities();
    for (const auto& q : held) {
      const bool excluded = options.fairnessExcludeResourceNames.isSome() &&
                            options.fairnessExcludeResourceNames->count(q.first) > 0;
      const double all = totals.get(q.first).value();
      if (!excluded && all > 0) {
        share = std::max(share, q.second.value() / all);
      }
    }
    levels["allocator/mesos/roles/" + role + "/shares/dominant"] = share;
    levels["allocator/mesos/offer_filters/roles/" + role + "/active"] = 0;
  }
  // Active decline filters per role, expired ones dropped here.
  foreachvalue (auto& byRole, offerFilters) {
    foreachpair (const std::string& role, auto& byAgent, byRole) {
      double active = 0;
      for (auto it = byAgent.begin(); it != byAgent.end();) {
        if (it->second.expired()) {
          it = byAgent.erase(it);
        } else {
          ++active;
          ++it;
        }
      }
      if (!role.empty()) {
        levels["allocator/mesos/offer_filters/roles/" + role + "/active"] += active;
      }
    }
  }
  foreachpair (const std::string& role, const mesos::Quota& quota, quotas) {
    const std::string prefix = "allocator/mesos/quota/roles/" + role + "/resources/";
    const ResourceQuantities held = byRole.contains(role) ? scalarQuantities(byRole[role])
                                                          : ResourceQuantities();
    for (const auto& q : quota.guarantees) {
      levels[prefix + q.first + "/guarantee"] = q.second.value();
      levels[prefix + q.first + "/offered_or_allocated"] = held.get(q.first).value();
    }
    for (const auto& q : quota.limits) {
      levels[prefix + q.first + "/limit"] = q.second.value();
      levels[prefix + q.first + "/offered_or_allocated"] = held.get(q.first).value();
    }
  }
  metrics->updateLevels(levels);
}

} // namespace mesos_adapter {
} // namespace locus {
