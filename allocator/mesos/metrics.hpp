// The allocator's metrics on the master's /metrics/snapshot: the standard
// `allocator/mesos/*` set of Mesos's own allocator (so existing dashboards
// and alerts keep working) and Locus's `allocator/locus/*` set. Running
// totals are Counters, levels are gauges. Every value is read on the
// allocator actor (deferred to its pid), so a scrape never races a run.

#ifndef LOCUS_MESOS_METRICS_HPP
#define LOCUS_MESOS_METRICS_HPP

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <process/metrics/counter.hpp>
#include <process/metrics/pull_gauge.hpp>
#include <process/metrics/timer.hpp>
#include <process/pid.hpp>

#include <stout/duration.hpp>

#include "locus/allocator.h"

namespace locus {
namespace mesos_adapter {

class Metrics
{
public:
  // eventQueueDispatches reads the actor's dispatch queue length (on the actor).
  Metrics(const process::UPID& actor, std::function<double()> eventQueueDispatches);
  ~Metrics();

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Standard set.
  process::metrics::Counter allocationRuns{"allocator/mesos/allocation_runs"};
  process::metrics::Timer<Milliseconds> allocationRun{"allocator/mesos/allocation_run", Hours(1)};
  process::metrics::Timer<Milliseconds> allocationRunLatency{
      "allocator/mesos/allocation_run_latency", Hours(1)};

  // Locus's own running totals.
  process::metrics::Counter locusAllocationRuns{"allocator/locus/allocation_runs"};
  process::metrics::Counter offersSent{"allocator/locus/offers_sent"};
  process::metrics::Counter coreOffersUnusable{"allocator/locus/core_offers_unusable"};
  // Agents the plugin refused to add: the master keeps them, the allocator
  // cannot offer them. (Scalar names beyond the plugin's capacity do not
  // cause this: the adapter keeps those names itself.)
  process::metrics::Counter agentsRefused{"allocator/locus/agents_refused"};

  // Adds the growth of the core's counters since the last call and keeps its
  // levels (hint age, last cycle CPU time) for the gauges.
  void updateCore(const locus_allocator_status& fresh);

  // Replaces the values of the per-resource, per-role and quota gauges
  // (full metric names); gauges are added for new names and removed for
  // names no longer given, as Mesos does when a role or resource goes away.
  void updateLevels(const std::map<std::string, double>& values);

private:
  void addGauge(const std::string& name, std::function<double()> read);

  process::UPID actor;
  locus_allocator_status core = {};
  bool haveCore = false;
  std::map<std::string, std::unique_ptr<process::metrics::Counter>> coreCounters;
  std::map<std::string, std::unique_ptr<process::metrics::PullGauge>> gauges;
  std::map<std::string, double> levels;
  std::map<std::string, std::unique_ptr<process::metrics::PullGauge>> levelGauges;
};

} // namespace mesos_adapter {
} // namespace locus {

#endif // LOCUS_MESOS_METRICS_HPP
