// The Mesos allocator module: `LocusAllocator` implements every pure virtual
// method of mesos::allocator::Allocator (Mesos 1.11/1.12) by dispatching it to
// the adapter's actor (process.hpp), exactly as Mesos's MesosAllocator
// wrapper does for the built-in hierarchical allocator; the master never
// waits on the policy. The module symbol `org_locus_LocusAllocator` is what
// modules.json names; its parameters are parsed and the plugin loaded in
// create(), so a bad path or config fails the master at start, not later.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <glog/logging.h>

#include <mesos/allocator/allocator.hpp>
#include <mesos/module.hpp>
#include <mesos/module/allocator.hpp>

#include <process/dispatch.hpp>
#include <process/process.hpp>

#include "core.hpp"
#include "process.hpp"

using mesos::FrameworkID;
using mesos::FrameworkInfo;
using mesos::Resources;
using mesos::SlaveID;
using mesos::SlaveInfo;
using mesos::allocator::Allocator;
using mesos::allocator::FrameworkOptions;
using mesos::allocator::InverseOfferStatus;
using process::dispatch;

namespace locus {
namespace mesos_adapter {

class LocusAllocator : public Allocator
{
public:
  LocusAllocator(Core* core, const Params& params)
    : process(new LocusAllocatorProcess(core, params))
  {
    process::spawn(process);
  }

  ~LocusAllocator() override
  {
    process::terminate(process);
    process::wait(process);
    delete process;
  }

  LocusAllocator(const LocusAllocator&) = delete;
  LocusAllocator& operator=(const LocusAllocator&) = delete;

  void initialize(
      const mesos::allocator::Options& options,
      const OfferCallback& offerCallback,
      const InverseOfferCallback& inverseOfferCallback) override
  {
    dispatch(process, &P::initialize, options, offerCallback, inverseOfferCallback);
  }

  void recover(int expectedAgentCount,
               const hashmap<std::string, mesos::Quota>& quotas) override
  {
    dispatch(process, &P::recover, expectedAgentCount, quotas);
  }

  void addFramework(
      const FrameworkID& frameworkId,
      const FrameworkInfo& frameworkInfo,
      const hashmap<SlaveID, Resources>& used,
      bool active,
      FrameworkOptions&& options) override
  {
    dispatch(process, &P::addFramework, frameworkId, frameworkInfo, used, active,
             std::move(options));
  }

  void removeFramework(const FrameworkID& frameworkId) override
  {
    dispatch(process, &P::removeFramework, frameworkId);
  }

  void activateFramework(const FrameworkID& frameworkId) override
  {
    dispatch(process, &P::activateFramework, frameworkId);
  }

  void deactivateFramework(const FrameworkID& frameworkId) override
  {
    dispatch(process, &P::deactivateFramework, frameworkId);
  }

  void updateFramework(
      const FrameworkID& frameworkId,
      const FrameworkInfo& frameworkInfo,
      FrameworkOptions&& options) override
  {
    dispatch(process, &P::updateFramework, frameworkId, frameworkInfo, std::move(options));
  }

  void addSlave(
      const SlaveID& slaveId,
      const SlaveInfo& slaveInfo,
      const std::vector<SlaveInfo::Capability>& capabilities,
      const Option<mesos::Unavailability>& unavailability,
      const Resources& total,
      const hashmap<FrameworkID, Resources>& used) override
  {
    dispatch(process, &P::addSlave, slaveId, slaveInfo, capabilities, unavailability, total,
             used);
  }

  void removeSlave(const SlaveID& slaveId) override
  {
    dispatch(process, &P::removeSlave, slaveId);
  }

  void updateSlave(
      const SlaveID& slaveId,
      const SlaveInfo& slaveInfo,
      const Option<Resources>& total = None(),
      const Option<std::vector<SlaveInfo::Capability>>& capabilities = None()) override
  {
    dispatch(process, &P::updateSlave, slaveId, slaveInfo, total, capabilities);
  }

  void addResourceProvider(
      const SlaveID& slaveId,
      const Resources& total,
      const hashmap<FrameworkID, Resources>& used) override
  {
    dispatch(process, &P::addResourceProvider, slaveId, total, used);
  }

  void activateSlave(const SlaveID& slaveId) override
  {
    dispatch(process, &P::activateSlave, slaveId);
  }

  void deactivateSlave(const SlaveID& slaveId) override
  {
    dispatch(process, &P::deactivateSlave, slaveId);
  }

  void updateWhitelist(const Option<hashset<std::string>>& whitelist) override
  {
    dispatch(process, &P::updateWhitelist, whitelist);
  }

  void requestResources(
      const FrameworkID& frameworkId, const std::vector<mesos::Request>& requests) override
  {
    dispatch(process, &P::requestResources, frameworkId, requests);
  }

  void updateAllocation(
      const FrameworkID& frameworkId,
      const SlaveID& slaveId,
      const Resources& offeredResources,
      const std::vector<mesos::ResourceConversion>& conversions) override
  {
    dispatch(process, &P::updateAllocation, frameworkId, slaveId, offeredResources,
             conversions);
  }

  process::Future<Nothing> updateAvailable(
      const SlaveID& slaveId, const std::vector<mesos::Offer::Operation>& operations) override
  {
    return dispatch(process, &P::updateAvailable, slaveId, operations);
  }

  void updateUnavailability(
      const SlaveID& slaveId, const Option<mesos::Unavailability>& unavailability) override
  {
    dispatch(process, &P::updateUnavailability, slaveId, unavailability);
  }

  void updateInverseOffer(
      const SlaveID& slaveId,
      const FrameworkID& frameworkId,
      const Option<mesos::UnavailableResources>& unavailableResources,
      const Option<InverseOfferStatus>& status,
      const Option<mesos::Filters>& filters = None()) override
  {
    dispatch(process, &P::updateInverseOffer, slaveId, frameworkId, unavailableResources,
             status, filters);
  }

  process::Future<InverseOfferStatuses> getInverseOfferStatuses() override
  {
    return dispatch(process, &P::getInverseOfferStatuses);
  }

  void transitionOfferedToAllocated(const SlaveID& slaveId, const Resources& resources) override
  {
    dispatch(process, &P::transitionOfferedToAllocated, slaveId, resources);
  }

  void recoverResources(
      const FrameworkID& frameworkId,
      const SlaveID& slaveId,
      const Resources& resources,
      const Option<mesos::Filters>& filters,
      bool isAllocated) override
  {
    dispatch(process, &P::recoverResources, frameworkId, slaveId, resources, filters,
             isAllocated);
  }

  void suppressOffers(const FrameworkID& frameworkId, const std::set<std::string>& roles) override
  {
    dispatch(process, &P::suppressOffers, frameworkId, roles);
  }

  void reviveOffers(const FrameworkID& frameworkId, const std::set<std::string>& roles) override
  {
    dispatch(process, &P::reviveOffers, frameworkId, roles);
  }

  void updateQuota(const std::string& role, const mesos::Quota& quota) override
  {
    dispatch(process, &P::updateQuota, role, quota);
  }

  void updateWeights(const std::vector<mesos::WeightInfo>& weightInfos) override
  {
    dispatch(process, &P::updateWeights, weightInfos);
  }

  void pause() override { dispatch(process, &P::pause); }

  void resume() override { dispatch(process, &P::resume); }

private:
  using P = LocusAllocatorProcess;
  LocusAllocatorProcess* process;
};


static Allocator* createLocusAllocator(const mesos::Parameters& parameters)
{
  Try<Params> params = parseParameters(parameters);
  if (params.isError()) {
    LOG(ERROR) << "Locus allocator module: " << params.error();
    return nullptr;
  }
  Try<Core*> core = Core::create(params.get());
  if (core.isError()) {
    LOG(ERROR) << "Locus allocator module: " << core.error();
    return nullptr;
  }
  LOG(INFO) << "Locus allocator module: loaded " << core.get()->name() << " "
            << core.get()->version() << " from " << core.get()->path();
  return new LocusAllocator(core.get(), params.get());
}

} // namespace mesos_adapter {
} // namespace locus {


// The name modules.json and --allocator use.
mesos::modules::Module<Allocator> org_locus_LocusAllocator(
    MESOS_MODULE_API_VERSION,
    MESOS_VERSION,
    "Locus",
    "locus@localhost",
    "Data-locality-aware weighted DRF allocator (Locus policy plugin over the C ABI).",
    nullptr,
    locus::mesos_adapter::createLocusAllocator);
