// Registration and upkeep of the allocator's metrics (see metrics.hpp).

#include "metrics.hpp"

#include <utility>

#include <process/defer.hpp>
#include <process/future.hpp>
#include <process/metrics/metrics.hpp>

namespace locus {
namespace mesos_adapter {

using process::Future;

Metrics::Metrics(const process::UPID& actor_, std::function<double()> eventQueueDispatches)
  : actor(actor_)
{
  for (process::metrics::Counter* c : {&allocationRuns, &locusAllocationRuns, &offersSent,
                                       &coreOffersUnusable, &agentsRefused}) {
    process::metrics::add(*c);
  }
  process::metrics::add(allocationRun);
  process::metrics::add(allocationRunLatency);
  addGauge("allocator/mesos/event_queue_dispatches", std::move(eventQueueDispatches));
  // Locus's levels; its running totals are the counters below.
  addGauge("allocator/locus/hint_age_secs", [this]() { return core.hint_age_s; });
  addGauge("allocator/locus/last_cycle_cpu_secs", [this]() { return core.last_cycle_cpu_s; });
  for (const char* name : {"cycles", "offers_node_local", "offers_rack_local", "offers_any",
                           "fallback_cycles", "hint_read_errors", "config_reload_errors"}) {
    std::unique_ptr<process::metrics::Counter> c(
        new process::metrics::Counter(std::string("allocator/locus/") + name));
    process::metrics::add(*c);
    coreCounters[name] = std::move(c);
  }
  core.hint_age_s = -1;
}


Metrics::~Metrics()
{
  for (process::metrics::Counter* c : {&allocationRuns, &locusAllocationRuns, &offersSent,
                                       &coreOffersUnusable, &agentsRefused}) {
    process::metrics::remove(*c);
  }
  process::metrics::remove(allocationRun);
  process::metrics::remove(allocationRunLatency);
  for (const auto& c : coreCounters) {
    process::metrics::remove(*c.second);
  }
  for (const auto& g : gauges) {
    process::metrics::remove(*g.second);
  }
  for (const auto& g : levelGauges) {
    process::metrics::remove(*g.second);
  }
}


void Metrics::addGauge(const std::string& name, std::function<double()> read)
{
  std::unique_ptr<process::metrics::PullGauge> g(new process::metrics::PullGauge(
      name, process::defer(actor, [read]() -> Future<double> { return read(); })));
  process::metrics::add(*g);
  gauges[name] = std::move(g);
}


void Metrics::updateCore(const locus_allocator_status& fresh)
{
  // A counter that went down means a new core instance: count from zero.
  auto grow = [this](const char* name, uint64_t now, uint64_t before) {
    *coreCounters[name] += static_cast<int64_t>(now >= before ? now - before : now);
  };
  const locus_allocator_status zero = {};
  const locus_allocator_status& old = haveCore ? core : zero;
  grow("cycles", fresh.cycles, old.cycles);
  grow("offers_node_local", fresh.offers_local, old.offers_local);
  grow("offers_rack_local", fresh.offers_rack, old.offers_rack);
  grow("offers_any", fresh.offers_any, old.offers_any);
  grow("fallback_cycles", fresh.fallback_cycles, old.fallback_cycles);
  grow("hint_read_errors", fresh.hint_read_errors, old.hint_read_errors);
  grow("config_reload_errors", fresh.config_reload_errors, old.config_reload_errors);
  core = fresh;
  haveCore = true;
}


void Metrics::updateLevels(const std::map<std::string, double>& values)
{
  for (auto it = levelGauges.begin(); it != levelGauges.end();) {
    if (values.count(it->first) == 0) {
      process::metrics::remove(*it->second);
      it = levelGauges.erase(it);
    } else {
      ++it;
    }
  }
  levels = values;
  for (const auto& value : values) {
    if (levelGauges.count(value.first) > 0) {
      continue;
    }
    const std::string name = value.first;
    std::unique_ptr<process::metrics::PullGauge> g(new process::metrics::PullGauge(
        name, process::defer(actor, [this, name]() -> Future<double> {
          auto it = levels.find(name);
          return it == levels.end() ? 0.0 : it->second;
        })));
    process::metrics::add(*g);
    levelGauges[name] = std::move(g);
  }
}

} // namespace mesos_adapter {
} // namespace locus {
