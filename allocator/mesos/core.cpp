// Loading and creating the C policy core for the Mesos module (see core.hpp).
// The core's log lines go to glog, the master's log, at the matching level.

#include "core.hpp"

#include <memory>

#include <glog/logging.h>

#include <stout/numify.hpp>
#include <stout/strings.hpp>

namespace locus {
namespace mesos_adapter {

Try<Params> parseParameters(const mesos::Parameters& parameters)
{
  Params params;
  params.plugin = locus_allocator_default_plugin_path();

  for (const mesos::Parameter& parameter : parameters.parameter()) {
    const std::string& key = parameter.key();
    const std::string& value = parameter.value();
    if (key == "plugin") {
      params.plugin = value;
    } else if (key == "config") {
      params.config = value;
    } else if (key == "rack_attribute") {
      params.rackAttribute = value;
    } else if (key == "offer_rounds") {
      Try<int> rounds = numify<int>(value);
      if (rounds.isError() || rounds.get() < 1 || rounds.get() > 64) {
        return Error("module parameter offer_rounds: '" + value +
                     "' is not an integer in [1, 64]");
      }
      params.offerRounds = rounds.get();
    } else if (strings::contains(key, ".")) {
      params.overrides.emplace_back(key, value);
    } else {
      return Error("module parameter '" + key + "' is unknown (expected plugin, config,"
                   " rack_attribute, offer_rounds or a section.key config override)");
    }
  }
  if (params.plugin.empty()) {
    return Error("module parameter plugin: empty path");
  }
  return params;
}


static void logToGlog(void* /*ctx*/, int level, const char* msg)
{
  switch (level) {
    case LOCUS_LOG_ERROR: LOG(ERROR) << "locus: " << msg; break;
    case LOCUS_LOG_WARN: LOG(WARNING) << "locus: " << msg; break;
    case LOCUS_LOG_INFO: LOG(INFO) << "locus: " << msg; break;
    default: VLOG(1) << "locus: " << msg; break;
  }
}


Try<Core*> Core::create(const Params& params)
{
  std::unique_ptr<Core> core(new Core());
  char err[1024] = "";

  int rc = locus_allocator_load(params.plugin.c_str(), &core->plugin, err, sizeof err);
  if (rc != 0) {
    return Error("cannot load Locus allocator plugin '" + params.plugin + "': " + err);
  }

  // The loader guarantees only the callbacks every host needs; Mesos's
  // allocator interface needs nearly all of them, so a plugin missing one is
  // refused here, at master start-up, rather than failing a call later.
  const locus_allocator_api& api = *core->plugin.api;
  std::vector<std::string> missing;
  auto need = [&missing](bool present, const char* name) {
    if (!present) {
      missing.push_back(name);
    }
  };
#define LOCUS_NEED(field) need(api.field != nullptr, #field)
  LOCUS_NEED(last_error);
  LOCUS_NEED(remove_agent);
  LOCUS_NEED(update_agent);
  LOCUS_NEED(activate_agent);
  LOCUS_NEED(deactivate_agent);
  LOCUS_NEED(remove_framework);
  LOCUS_NEED(update_framework);
  LOCUS_NEED(activate_framework);
  LOCUS_NEED(deactivate_framework);
  LOCUS_NEED(suppress);
  LOCUS_NEED(revive);
  LOCUS_NEED(update_weights);
  LOCUS_NEED(pause);
  LOCUS_NEED(resume);
  LOCUS_NEED(set_demand);
#undef LOCUS_NEED
  if (!missing.empty()) {
    return Error("Locus allocator plugin '" + params.plugin + "' (" +
                 (api.name != nullptr ? api.name : "?") + ") lacks callbacks the Mesos module"
                 " needs: " + strings::join(", ", missing));
  }

  std::vector<locus_param> overrides;
  for (const auto& override_ : params.overrides) {
    overrides.push_back(locus_param{override_.first.c_str(), override_.second.c_str()});
  }

  locus_host_services host = {};
  host.struct_size = sizeof host;
  host.ctx = nullptr;
  host.log = logToGlog;
  host.hint_store = nullptr;  // the core opens the config's hints.path itself

  rc = core->plugin.api->create(
      params.config.empty() ? nullptr : params.config.c_str(),
      overrides.empty() ? nullptr : overrides.data(), overrides.size(),
      &host, &core->instance, err, sizeof err);
  if (rc != 0) {
    return Error("cannot create Locus allocator from '" +
                 (params.config.empty() ? std::string("(defaults)") : params.config) +
                 "': " + err + " (" + locus_strerror(rc) + ")");
  }
  return core.release();
}


Core::~Core()
{
  if (instance != nullptr) {
    plugin.api->destroy(instance);
  }
  locus_allocator_unload(&plugin);
}


bool Core::check(int rc, const char* what, const std::string& subject) const
{
  if (rc == 0) {
    return true;
  }
  const char* detail = plugin.api->last_error(instance);
  LOG(WARNING) << "Locus allocator " << what << " " << subject << " failed: "
               << locus_strerror(rc) << ": " << (detail != nullptr ? detail : "");
  return false;
}

} // namespace mesos_adapter {
} // namespace locus {
