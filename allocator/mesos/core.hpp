// The C policy core as the adapter sees it: a plugin .so loaded by path with
// the host-side loader (locus/allocator_loader.h), one instance created from
// the module parameters, and the checks every call needs.
//
// The adapter loads the plugin instead of linking the core so that mesos-master
// runs the same .so, through the same ABI, as locus-sim and the test hosts:
// what the simulator measured is what the master runs, and swapping policies
// is a change of path in modules.json.

#ifndef LOCUS_MESOS_CORE_HPP
#define LOCUS_MESOS_CORE_HPP

#include <string>
#include <utility>
#include <vector>

#include <mesos/mesos.hpp>

#include <stout/try.hpp>

#include "locus/allocator.h"
#include "locus/allocator_loader.h"

namespace locus {
namespace mesos_adapter {

// Module parameters (modules.json "parameters").
struct Params
{
  std::string plugin;             // "plugin": path of the policy .so
  std::string config;             // "config": Locus allocator config file ("" = defaults)
  std::string rackAttribute = "rack"; // "rack_attribute": agent attribute naming the rack
  int offerRounds = 4;            // "offer_rounds": core allocate() rounds per allocation run
  // Every "section.key" parameter: a config override, applied after the file.
  std::vector<std::pair<std::string, std::string>> overrides;
};

// Unknown plain keys and bad values are errors naming the key.
Try<Params> parseParameters(const mesos::Parameters& parameters);

class Core
{
public:
  // Loads the plugin and creates the instance; the error names the plugin
  // path or the config file, line and key.
  static Try<Core*> create(const Params& params);
  ~Core();

  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  const locus_allocator_api& api() const { return *plugin.api; }
  locus_allocator* handle() const { return instance; }
  const char* name() const { return plugin.api->name; }
  const char* version() const { return plugin.api->version; }
  const char* path() const { return plugin.path; }

  // Logs a failed call (what + code + the core's last_error) and returns
  // whether rc was 0.
  bool check(int rc, const char* what, const std::string& subject) const;

private:
  Core() = default;

  locus_allocator_plugin plugin = {};
  locus_allocator* instance = nullptr;
};

} // namespace mesos_adapter {
} // namespace locus {

#endif // LOCUS_MESOS_CORE_HPP
