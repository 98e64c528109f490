// Mesos <-> C ABI translation (see translate.hpp). Functions over Mesos
// value types: no libprocess, no plugin calls, so every call path of the
// adapter converts the same way. The one piece of state is the set of scalar
// names the plugin accounts, fixed once a name is seen, so every conversion
// agrees on it.

#include "translate.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <glog/logging.h>

#include <stout/duration.hpp>
#include <stout/stringify.hpp>
#include <stout/strings.hpp>

using mesos::Attribute;
using mesos::FrameworkID;
using mesos::FrameworkInfo;
using mesos::Request;
using mesos::Resource;
using mesos::ResourceQuantities;
using mesos::Resources;
using mesos::SlaveID;
using mesos::SlaveInfo;
using mesos::Value;

namespace locus {
namespace mesos_adapter {

namespace {

// The names the plugin accounts and those left to the adapter. One allocator
// per master process, and only its actor converts: no locking needed.
struct CoreNames
{
  size_t capacity = 0;  // 0: every name
  std::set<std::string> accounted, beyond;
};

CoreNames& coreNames()
{
  static CoreNames names;
  return names;
}

} // namespace {


void setCoreNameCapacity(size_t capacity)
{
  CoreNames& names = coreNames();
  names.capacity = capacity;
  names.accounted = {"cpus", "mem", "disk", "gpus"};  // the plugin's own first names
  names.beyond.clear();
}


bool coreAccounts(const std::string& name)
{
  CoreNames& names = coreNames();
  if (names.capacity == 0 || names.accounted.count(name) > 0) {
    return true;
  }
  if (names.beyond.count(name) > 0) {
    return false;
  }
  if (names.accounted.size() < names.capacity) {
    names.accounted.insert(name);
    return true;
  }
  names.beyond.insert(name);
  LOG(WARNING) << "Scalar resource '" << name << "' is beyond the " << names.capacity
               << " names the Locus allocator plugin accounts: it is offered with its"
               << " agents but counts in no share (build the plugin with a larger"
               << " -DLOCUS_MAX_RESOURCE_NAMES to count it)";
  return false;
}


ResourceQuantities scalarQuantities(const Resources& resources)
{
  return ResourceQuantities::fromScalarResources(resources.nonShared().scalars());
}


ResourceQuantities coreQuantities(const Resources& resources)
{
  ResourceQuantities all = scalarQuantities(resources);
  if (coreNames().capacity == 0) {
    return all;
  }
  google::protobuf::Map<std::string, Value::Scalar> kept;
  bool dropped = false;
  for (const auto& quantity : all) {
    if (coreAccounts(quantity.first)) {
      kept[quantity.first] = quantity.second;
    } else {
      dropped = true;
    }
  }
  return dropped ? ResourceQuantities(kept) : all;
}


static bool splittable(const Resource& resource)
{
  if (Resources::isShared(resource) || Resources::isPersistentVolume(resource)) {
    return false;
  }
  return !(resource.has_disk() && resource.disk().has_source() &&
           (resource.disk().source().type() == Resource::DiskInfo::Source::MOUNT ||
            resource.disk().source().type() == Resource::DiskInfo::Source::BLOCK));
}


Resources sliceOf(const Resources& available, const ResourceQuantities& offered)
{
  if (offered.contains(coreQuantities(available))) {
    return available;  // the whole agent: nothing to cut
  }
  hashmap<std::string, double> left;
  for (const auto& quantity : offered) {
    left[quantity.first] = quantity.second.value();
  }
  Resources slice;
  // Reserved first: what is reserved for the role is what it should use.
  for (const Resources& part : {available.reserved(), available.unreserved()}) {
    for (const Resource& resource : part) {
      if (resource.type() != Value::SCALAR || Resources::isShared(resource) ||
          !coreAccounts(resource.name())) {
        slice += resource;
        continue;
      }
      double& want = left[resource.name()];
      const double have = resource.scalar().value();
      // Mesos keeps scalars in fixed point with three decimals.
      if (want < 0.0005) {
        continue;
      }
      if (have <= want + 0.0005) {
        slice += resource;
        want -= have;
      } else if (splittable(resource)) {
        Resource cut = resource;
        cut.mutable_scalar()->set_value(std::round(want * 1000) / 1000);
        slice += cut;
        want = 0;
      }
    }
  }
  return slice;
}


CScalars::CScalars(const ResourceQuantities& quantities)
{
  for (const auto& quantity : quantities) {
    names.push_back(quantity.first);
  }
  size_t i = 0;
  for (const auto& quantity : quantities) {
    items.push_back(locus_scalar{names[i++].c_str(), quantity.second.value()});
  }
  res.items = items.empty() ? nullptr : items.data();
  res.n = items.size();
}


ResourceQuantities fromC(const locus_resources& resources)
{
  google::protobuf::Map<std::string, Value::Scalar> map;
  for (size_t i = 0; i < resources.n; i++) {
    if (resources.items[i].name != nullptr && resources.items[i].value > 0) {
      Value::Scalar& scalar = map[resources.items[i].name];
      scalar.set_value(scalar.value() + resources.items[i].value);
    }
  }
  return ResourceQuantities(map);
}


std::string agentRack(const SlaveInfo& info, const std::string& rackAttribute)
{
  for (const Attribute& attribute : info.attributes()) {
    if (attribute.name() != rackAttribute) {
      continue;
    }
    if (attribute.type() == Value::TEXT && attribute.has_text()) {
      return attribute.text().value();
    }
    if (attribute.type() == Value::SCALAR && attribute.has_scalar()) {
      return stringify(attribute.scalar().value());
    }
  }
  if (info.has_domain() && info.domain().has_fault_domain()) {
    return info.domain().fault_domain().zone().name();
  }
  return "";
}


CAgent::CAgent(const SlaveInfo& info, const Resources& total, const std::string& rackAttribute)
  : id(info.id().value()),
    hostname(info.hostname()),
    rack(agentRack(info, rackAttribute)),
    total_(total)
{
  info_.id = id.c_str();
  info_.hostname = hostname.c_str();
  info_.rack = rack.c_str();
  info_.total = total_.get();
}


std::set<std::string> frameworkRoles(const FrameworkInfo& info)
{
  for (const FrameworkInfo::Capability& capability : info.capabilities()) {
    if (capability.type() == FrameworkInfo::Capability::MULTI_ROLE) {
      return std::set<std::string>(info.roles().begin(), info.roles().end());
    }
  }
  // Frameworks without MULTI_ROLE still use the deprecated single role.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return {info.role()};
#pragma GCC diagnostic pop
}


CFramework::CFramework(const FrameworkInfo& info, bool active)
  : id(info.id().value())
{
  for (const std::string& role : frameworkRoles(info)) {
    roles.push_back(role);
  }
  for (const std::string& role : roles) {
    rolePtrs.push_back(role.c_str());
  }
  info_.id = id.c_str();
  info_.roles = rolePtrs.empty() ? nullptr : rolePtrs.data();
  info_.n_roles = rolePtrs.size();
  info_.active = active ? 1 : 0;
}


void CAllocations::add(
    const FrameworkID& frameworkId, const SlaveID& slaveId, const Resources& resources)
{
  // The master sends allocated resources; any without an allocation role
  // (Resources::allocations() would abort on them) go with role "" and the
  // core books them to the framework's first role.
  auto allocated = [](const Resource& r) {
    return r.has_allocation_info() && r.allocation_info().has_role();
  };
  hashmap<std::string, Resources> byRole =
    resources.filter(allocated).allocations();
  const Resources unallocated =
    resources.filter([&allocated](const Resource& r) { return !allocated(r); });
  if (!unallocated.empty()) {
    byRole[""] += unallocated;
  }
  for (const auto& allocation : byRole) {
    Entry entry;
    entry.framework = frameworkId.value();
    entry.role = allocation.first;
    entry.agent = slaveId.value();
    entry.scalars.reset(new CScalars(allocation.second));
    entries.push_back(std::move(entry));
  }
}


const locus_allocation* CAllocations::data()
{
  items.clear();
  for (const Entry& entry : entries) {
    items.push_back(locus_allocation{entry.framework.c_str(),
                                     entry.role.empty() ? nullptr : entry.role.c_str(),
                                     entry.agent.c_str(), entry.scalars->get()});
  }
  return items.empty() ? nullptr : items.data();
}


// Splits, trims and de-duplicates dataset names, keeping first-seen order.
static void addNames(std::vector<std::string>* out, const std::string& text)
{
  for (const std::string& token : strings::tokenize(text, ",")) {
    const std::string name = strings::trim(token);
    if (!name.empty() && std::find(out->begin(), out->end(), name) == out->end()) {
      out->push_back(name);
    }
  }
}


Option<std::vector<std::string>> demandFromRequests(const std::vector<Request>& requests)
{
  bool named = false;
  std::vector<std::string> names;
  for (const Request& request : requests) {
    for (const Resource& resource : request.resources()) {
      if (resource.name() != DEMAND_NAME || resource.type() != Value::SET) {
        continue;
      }
      named = true;
      for (const std::string& item : resource.set().item()) {
        addNames(&names, item);
      }
    }
  }
  if (!named) {
    return None();
  }
  return names;
}


Option<ResourceQuantities> taskResourcesFromRequests(const std::vector<Request>& requests)
{
  // The master passes a REQUEST's resources on unvalidated and unconverted:
  // a framework writing the pre-refinement `role` field (legal on the wire)
  // makes Resources' constructor CHECK-fail and would abort the master. One
  // task's size needs only the scalar amounts, so read them off the messages.
  for (const Request& request : requests) {
    google::protobuf::Map<std::string, Value::Scalar> map;
    for (const Resource& resource : request.resources()) {
      if (resource.type() == Value::SCALAR && !resource.has_shared() &&
          resource.has_scalar() && resource.scalar().value() > 0 &&
          !resource.name().empty()) {
        Value::Scalar& scalar = map[resource.name()];
        scalar.set_value(scalar.value() + resource.scalar().value());
      }
    }
    if (!map.empty()) {
      return ResourceQuantities(map);
    }
  }
  return None();
}


Option<std::vector<std::string>> demandFromLabels(const FrameworkInfo& info)
{
  if (!info.has_labels()) {
    return None();
  }
  bool named = false;
  std::vector<std::string> names;
  for (const mesos::Label& label : info.labels().labels()) {
    if (label.key() == DEMAND_NAME) {
      named = true;
      addNames(&names, label.value());
    }
  }
  if (!named) {
    return None();
  }
  return names;
}


CDemand::CDemand(const std::vector<std::string>& datasets)
  : names(datasets)
{
  for (const std::string& name : names) {
    items.push_back(locus_demand_item{name.c_str(), -1, 0});
  }
}


double refuseSeconds(const Option<mesos::Filters>& filters, double allocationIntervalSecs)
{
  if (filters.isNone()) {
    return 0.0;
  }
  const double fallback = mesos::Filters().refuse_seconds();
  double seconds = filters->refuse_seconds();
  if (std::isnan(seconds) || seconds < 0) {
    seconds = fallback;
  } else if (seconds > Days(365).secs()) {
    seconds = Days(365).secs();
  }
  if (seconds == 0.0) {
    return 0.0;
  }
  return std::max(seconds, allocationIntervalSecs);
}

} // namespace mesos_adapter {
} // namespace locus {
