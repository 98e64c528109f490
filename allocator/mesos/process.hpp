// The adapter's libprocess actor. The module's Allocator (module.cpp) only
// dispatches here, as Mesos's MesosAllocator does for its hierarchical
// allocator, so no master call blocks on the core; every core call runs on
// this actor, which gives the core the one-thread-at-a-time guarantee the ABI
// asks for.
//
// State kept here, beside the core: each agent's Mesos `Resources` (total and
// per framework offered-or-allocated, with reservations, volumes and roles),
// framework infos, capabilities, offer constraints, maintenance and inverse
// offers. The core decides which framework gets which agent; this actor turns
// that choice into Mesos resources, gives the core back whatever it could not
// offer, and sends the offers.

#ifndef LOCUS_MESOS_PROCESS_HPP
#define LOCUS_MESOS_PROCESS_HPP

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <mesos/allocator/allocator.hpp>
#include <mesos/quota/quota.hpp>
#include <mesos/resources.hpp>

#include <process/future.hpp>
#include <process/metrics/pull_gauge.hpp>
#include <process/process.hpp>

#include <stout/hashmap.hpp>
#include <stout/hashset.hpp>
#include <stout/lambda.hpp>
#include <stout/option.hpp>

#include "core.hpp"
#include "metrics.hpp"

namespace locus {
namespace mesos_adapter {

using OfferCallback = lambda::function<void(
    const mesos::FrameworkID&,
    const hashmap<std::string, hashmap<mesos::SlaveID, mesos::Resources>>&)>;
using InverseOfferCallback = lambda::function<void(
    const mesos::FrameworkID&,
    const hashmap<mesos::SlaveID, mesos::UnavailableResources>&)>;
using InverseOfferStatuses = hashmap<
    mesos::SlaveID, hashmap<mesos::FrameworkID, mesos::allocator::InverseOfferStatus>>;

class LocusAllocatorProcess : public process::Process<LocusAllocatorProcess>
{
public:
  LocusAllocatorProcess(Core* core, const Params& params);
  ~LocusAllocatorProcess() override;

  using process::ProcessBase::initialize;

  void initialize(
      const mesos::allocator::Options& options,
      const OfferCallback& offerCallback,
      const InverseOfferCallback& inverseOfferCallback);
  void recover(int expectedAgentCount, const hashmap<std::string, mesos::Quota>& quotas);

  void addFramework(
      const mesos::FrameworkID& frameworkId,
      const mesos::FrameworkInfo& frameworkInfo,
      const hashmap<mesos::SlaveID, mesos::Resources>& used,
      bool active,
      mesos::allocator::FrameworkOptions&& options);
  void removeFramework(const mesos::FrameworkID& frameworkId);
  void activateFramework(const mesos::FrameworkID& frameworkId);
  void deactivateFramework(const mesos::FrameworkID& frameworkId);
  void updateFramework(
      const mesos::FrameworkID& frameworkId,
      const mesos::FrameworkInfo& frameworkInfo,
      mesos::allocator::FrameworkOptions&& options);

  void addSlave(
      const mesos::SlaveID& slaveId,
      const mesos::SlaveInfo& slaveInfo,
      const std::vector<mesos::SlaveInfo::Capability>& capabilities,
      const Option<mesos::Unavailability>& unavailability,
      const mesos::Resources& total,
      const hashmap<mesos::FrameworkID, mesos::Resources>& used);
  void removeSlave(const mesos::SlaveID& slaveId);
  void updateSlave(
      const mesos::SlaveID& slaveId,
      const mesos::SlaveInfo& slaveInfo,
      const Option<mesos::Resources>& total,
      const Option<std::vector<mesos::SlaveInfo::Capability>>& capabilities);
  void addResourceProvider(
      const mesos::SlaveID& slaveId,
      const mesos::Resources& total,
      const hashmap<mesos::FrameworkID, mesos::Resources>& used);
  void activateSlave(const mesos::SlaveID& slaveId);
  void deactivateSlave(const mesos::SlaveID& slaveId);
  void updateWhitelist(const Option<hashset<std::string>>& whitelist);

  void requestResources(
      const mesos::FrameworkID& frameworkId, const std::vector<mesos::Request>& requests);
  void updateAllocation(
      const mesos::FrameworkID& frameworkId,
      const mesos::SlaveID& slaveId,
      const mesos::Resources& offeredResources,
      const std::vector<mesos::ResourceConversion>& conversions);
  process::Future<Nothing> updateAvailable(
      const mesos::SlaveID& slaveId, const std::vector<mesos::Offer::Operation>& operations);

  void updateUnavailability(
      const mesos::SlaveID& slaveId, const Option<mesos::Unavailability>& unavailability);
  void updateInverseOffer(
      const mesos::SlaveID& slaveId,
      const mesos::FrameworkID& frameworkId,
      const Option<mesos::UnavailableResources>& unavailableResources,
      const Option<mesos::allocator::InverseOfferStatus>& status,
      const Option<mesos::Filters>& filters);
  process::Future<InverseOfferStatuses> getInverseOfferStatuses();

  void transitionOfferedToAllocated(
      const mesos::SlaveID& slaveId, const mesos::Resources& resources);
  void recoverResources(
      const mesos::FrameworkID& frameworkId,
      const mesos::SlaveID& slaveId,
      const mesos::Resources& resources,
      const Option<mesos::Filters>& filters,
      bool isAllocated);

  void suppressOffers(const mesos::FrameworkID& frameworkId, const std::set<std::string>& roles);
  void reviveOffers(const mesos::FrameworkID& frameworkId, const std::set<std::string>& roles);
  void updateQuota(const std::string& role, const mesos::Quota& quota);
  void updateWeights(const std::vector<mesos::WeightInfo>& weightInfos);
  void pause();
  void resume();

protected:
  void finalize() override;

private:
  struct Capabilities
  {
    bool gpuResources = false, revocableResources = false, sharedResources = false;
    bool multiRole = false, reservationRefinement = false, regionAware = false;
  };

  struct Framework
  {
    mesos::FrameworkInfo info;
    std::set<std::string> roles;
    std::set<std::string> suppressedRoles;
    Capabilities capabilities;
    bool active = false;
    // False while it has no role (legal for MULTI_ROLE): the core takes only
    // frameworks with roles, so it is added there when it gets one.
    bool inCore = true;
    std::unique_ptr<mesos::allocator::OfferConstraintsFilter> constraints;
    Option<std::vector<std::string>> labelDemand;   // last demand read from labels
    hashmap<mesos::SlaveID, process::Timeout> inverseOfferFilters;
  };

  struct Maintenance
  {
    explicit Maintenance(const mesos::Unavailability& u) : unavailability(u) {}
    mesos::Unavailability unavailability;
    hashmap<mesos::FrameworkID, mesos::allocator::InverseOfferStatus> statuses;
    hashset<mesos::FrameworkID> offersOutstanding;
  };

  struct Agent
  {
    mesos::SlaveInfo info;
    bool multiRole = false, hierarchicalRole = false;
    bool activated = true;         // as the master says
    bool coreActive = true;        // as the core was last told (activated && whitelisted)
    mesos::Resources total;        // unallocated form
    hashmap<mesos::FrameworkID, mesos::Resources> offeredOrAllocated; // allocated form
    Option<Maintenance> maintenance;

    mesos::Resources available() const;
    void take(const mesos::FrameworkID& frameworkId, const mesos::Resources& resources);
    void give(const mesos::FrameworkID& frameworkId, const mesos::Resources& resources);
  };

  double now() const;
  process::Future<Nothing> generateOffers();
  void runAllocation();
  void handleCoreOffer(
      const std::string& frameworkId, const std::string& role, const std::string& agentId,
      const mesos::ResourceQuantities& coreOffered,
      hashmap<mesos::FrameworkID, hashmap<std::string, hashmap<mesos::SlaveID, mesos::Resources>>>*
          offers,
      hashmap<mesos::SlaveID, mesos::Resources>* offeredShared);
  mesos::Resources offerable(
      const Framework& framework, const std::string& role, const Agent& agent,
      const mesos::Resources& sharedOfferedThisRun) const;
  void giveBack(const std::string& frameworkId, const std::string& role,
                const std::string& agentId, const mesos::ResourceQuantities& quantities,
                double refuseSecs);
  void generateInverseOffers();

  void coreAddAgent(const mesos::SlaveID& slaveId, const Agent& agent);
  void coreResyncAgent(const mesos::SlaveID& slaveId, const Agent& agent);
  void coreUpdateAgentTotal(const mesos::SlaveID& slaveId, const Agent& agent,
                            const mesos::Resources& oldTotal);
  void syncAgentActive(const mesos::SlaveID& slaveId, Agent* agent);
  void applyDemand(const mesos::FrameworkID& frameworkId,
                   const std::vector<std::string>& datasets, const char* source);
  // requestResources' scalars: what one task uses (ABI 1.1 set_task_resources).
  void applyTaskResources(const mesos::FrameworkID& frameworkId,
                          const mesos::ResourceQuantities& perTask);
  void setFrameworkInfo(Framework* framework, const mesos::FrameworkInfo& info);
  bool isRemote(const Agent& agent) const;
  void refreshStatus();

  std::unique_ptr<Core> core;
  Params params;

  bool initialized = false;
  bool paused = false;
  mesos::allocator::Options options;
  OfferCallback offerCallback;
  InverseOfferCallback inverseOfferCallback;

  Option<int> expectedAgentCount;
  Option<hashset<std::string>> whitelist;
  hashmap<std::string, mesos::Quota> quotas;

  hashmap<mesos::FrameworkID, Framework> frameworks;
  hashmap<mesos::SlaveID, Agent> agents;

  // Refuse filters installed by declines, as the master asked for them
  // (framework, role, agent -> expiry): the core keeps its own per framework
  // and agent; this copy is what offer_filters/roles/<role>/active counts.
  hashmap<mesos::FrameworkID, hashmap<std::string, hashmap<mesos::SlaveID, process::Timeout>>>
    offerFilters;

  // ABI 1.2 calls the loaded plugin has (an older plugin runs without them:
  // flat roles, no quota, every resource in the shares).
  bool coreHasRoles() const;
  void coreSetQuota(const std::string& role, const mesos::Quota& quota);
  void coreRecover(const std::string& frameworkId, const std::string& role,
                   const std::string& agentId, const mesos::ResourceQuantities& quantities,
                   double refuseSecs, const char* what);

  Option<process::Future<Nothing>> pendingRun;

  // Observability: the core's counters (refreshed after each run) and the
  // adapter's own.
  locus_allocator_status status = {};
  std::unique_ptr<Metrics> metrics;
  // allocation_run_latency_ms is being timed: a run was asked for.
  bool latencyTimed = false;
  // Standard per-resource, per-role and quota levels, after each run.
  void updateLevelMetrics();
};

} // namespace mesos_adapter {
} // namespace locus {

#endif // LOCUS_MESOS_PROCESS_HPP
