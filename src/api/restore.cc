#include "lifeboat/api/restore.h"

#include "src/api/json_codec.h"

namespace lifeboat::api {
namespace json = boost::json;
using internal::EnumName;
using internal::Reader;
using internal::Writer;

namespace {

constexpr EnumName<RestorePhase> kPhases[] = {
    {RestorePhase::kUnset, ""},
    {RestorePhase::kNew, "New"},
    {RestorePhase::kFailedValidation, "FailedValidation"},
    {RestorePhase::kInProgress, "InProgress"},
    {RestorePhase::kWaitingForPluginOperations, "WaitingForPluginOperations"},
    {RestorePhase::kWaitingForPluginOperationsPartiallyFailed,
     "WaitingForPluginOperationsPartiallyFailed"},
    {RestorePhase::kFinalizing, "Finalizing"},
    {RestorePhase::kFinalizingPartiallyFailed, "FinalizingPartiallyFailed"},
    {RestorePhase::kCompleted, "Completed"},
    {RestorePhase::kPartiallyFailed, "PartiallyFailed"},
    {RestorePhase::kFailed, "Failed"},
};

Status ReadHookMode(const Reader& r, HookErrorMode* out) {
  std::string s;
  LIFEBOAT_RETURN_IF_ERROR(r.Str("onError", &s));
  std::optional<HookErrorMode> m = ParseHookErrorMode(s);
  if (!m) return internal::TypeError(r.Path("onError"), "unsupported value \"" + s + "\"");
  *out = *m;
  return absl::OkStatus();
}

StatusOr<RestoreResourceHook> ReadPostHook(const Reader& r) {
  RestoreResourceHook h;
  if (r.Get("exec") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader e, Reader::Make(r.Get("exec"), r.Path("exec")));
    ExecRestoreHook x;
    LIFEBOAT_RETURN_IF_ERROR(e.Str("container", &x.container));
    LIFEBOAT_RETURN_IF_ERROR(e.StrList("command", &x.command));
    LIFEBOAT_RETURN_IF_ERROR(ReadHookMode(e, &x.on_error));
    LIFEBOAT_RETURN_IF_ERROR(e.Dur("execTimeout", &x.exec_timeout));
    LIFEBOAT_RETURN_IF_ERROR(e.Dur("waitTimeout", &x.wait_timeout));
    LIFEBOAT_RETURN_IF_ERROR(e.OptBool("waitForReady", &x.wait_for_ready));
    h.exec = std::move(x);
  }
  if (r.Get("init") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader i, Reader::Make(r.Get("init"), r.Path("init")));
    InitRestoreHook init;
    if (const json::value* c = i.Get("initContainers"); c != nullptr) {
      if (!c->is_array()) return internal::TypeError(i.Path("initContainers"), "must be an array");
      for (const json::value& item : c->get_array()) init.init_containers.push_back(item);
    }
    LIFEBOAT_RETURN_IF_ERROR(i.Dur("timeout", &init.timeout));
    h.init = std::move(init);
  }
  return h;
}

Status ReadHooks(const Reader& spec, RestoreHooks* hooks) {
  LIFEBOAT_ASSIGN_OR_RETURN(Reader h, Reader::Make(spec.Get("hooks"), spec.Path("hooks")));
  std::vector<Reader> items;
  LIFEBOAT_RETURN_IF_ERROR(h.Objects("resources", &items));
  for (const Reader& r : items) {
    RestoreResourceHookSpec s;
    LIFEBOAT_RETURN_IF_ERROR(r.Str("name", &s.name));
    LIFEBOAT_RETURN_IF_ERROR(r.StrList("includedNamespaces", &s.included_namespaces));
    LIFEBOAT_RETURN_IF_ERROR(r.StrList("excludedNamespaces", &s.excluded_namespaces));
    LIFEBOAT_RETURN_IF_ERROR(r.StrList("includedResources", &s.included_resources));
    LIFEBOAT_RETURN_IF_ERROR(r.StrList("excludedResources", &s.excluded_resources));
    LIFEBOAT_RETURN_IF_ERROR(r.Selector("labelSelector", &s.label_selector));
    std::vector<Reader> posts;
    LIFEBOAT_RETURN_IF_ERROR(r.Objects("postHooks", &posts));
    for (const Reader& p : posts) {
      LIFEBOAT_ASSIGN_OR_RETURN(RestoreResourceHook hook, ReadPostHook(p));
      s.post_hooks.push_back(std::move(hook));
    }
    hooks->resources.push_back(std::move(s));
  }
  return absl::OkStatus();
}

json::value WritePostHook(const RestoreResourceHook& h, const json::value* base) {
  Writer w(base);
  if (h.exec) {
    Writer e(w.Base("exec"));
    e.Str("container", h.exec->container);
    json::array cmd;
    for (const auto& c : h.exec->command) cmd.emplace_back(json::string(c));
    e.Set("command", std::move(cmd));
    e.Str("onError", std::string(ToString(h.exec->on_error)));
    e.Dur("execTimeout", h.exec->exec_timeout);
    e.Dur("waitTimeout", h.exec->wait_timeout);
    e.OptBool("waitForReady", h.exec->wait_for_ready);
    w.Set("exec", e.Take());
  } else {
    w.Erase("exec");
  }
  if (h.init) {
    Writer i(w.Base("init"));
    if (h.init->init_containers.empty()) {
      i.Erase("initContainers");
    } else {
      json::array a(h.init->init_containers.begin(), h.init->init_containers.end());
      i.Set("initContainers", std::move(a));
    }
    i.Dur("timeout", h.init->timeout);
    w.Set("init", i.Take());
  } else {
    w.Erase("init");
  }
  return w.Take();
}

json::value WriteHooks(const RestoreHooks& hooks, const json::value* base) {
  Writer w(base);
  if (hooks.resources.empty()) {
    w.Erase("resources");
    return w.Take();
  }
  const json::value* base_list = w.Base("resources");
  json::array a;
  for (size_t i = 0; i < hooks.resources.size(); ++i) {
    const RestoreResourceHookSpec& s = hooks.resources[i];
    Writer hw(Writer::BaseElement(base_list, i));
    hw.StrAlways("name", s.name);
    hw.StrList("includedNamespaces", s.included_namespaces);
    hw.StrList("excludedNamespaces", s.excluded_namespaces);
    hw.StrList("includedResources", s.included_resources);
    hw.StrList("excludedResources", s.excluded_resources);
    hw.Selector("labelSelector", s.label_selector);
    if (s.post_hooks.empty()) {
      hw.Erase("postHooks");
    } else {
      const json::value* base_posts = hw.Base("postHooks");
      json::array posts;
      for (size_t j = 0; j < s.post_hooks.size(); ++j) {
        posts.push_back(WritePostHook(s.post_hooks[j], Writer::BaseElement(base_posts, j)));
      }
      hw.Set("postHooks", std::move(posts));
    }
    a.push_back(hw.Take());
  }
  w.Set("resources", std::move(a));
  return w.Take();
}

Status ReadSpec(const Reader& r, RestoreSpec* s) {
  LIFEBOAT_RETURN_IF_ERROR(r.Str("backupName", &s->backup_name));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("scheduleName", &s->schedule_name));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("includedNamespaces", &s->included_namespaces));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("excludedNamespaces", &s->excluded_namespaces));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("includedResources", &s->included_resources));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("excludedResources", &s->excluded_resources));
  LIFEBOAT_RETURN_IF_ERROR(r.StrMap("namespaceMapping", &s->namespace_mapping));
  LIFEBOAT_RETURN_IF_ERROR(r.Selector("labelSelector", &s->label_selector));
  LIFEBOAT_RETURN_IF_ERROR(r.SelectorList("orLabelSelectors", &s->or_label_selectors));
  LIFEBOAT_RETURN_IF_ERROR(r.OptBool("restorePVs", &s->restore_pvs));
  if (r.Get("restoreStatus") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader rs,
                              Reader::Make(r.Get("restoreStatus"), r.Path("restoreStatus")));
    RestoreStatusSpec spec;
    LIFEBOAT_RETURN_IF_ERROR(rs.StrList("includedResources", &spec.included_resources));
    LIFEBOAT_RETURN_IF_ERROR(rs.StrList("excludedResources", &spec.excluded_resources));
    s->restore_status = std::move(spec);
  }
  LIFEBOAT_RETURN_IF_ERROR(r.OptBool("preserveNodePorts", &s->preserve_node_ports));
  LIFEBOAT_RETURN_IF_ERROR(r.OptBool("includeClusterResources", &s->include_cluster_resources));
  LIFEBOAT_RETURN_IF_ERROR(ReadHooks(r, &s->hooks));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("existingResourcePolicy", &s->existing_resource_policy));
  LIFEBOAT_RETURN_IF_ERROR(r.Dur("itemOperationTimeout", &s->item_operation_timeout));
  LIFEBOAT_RETURN_IF_ERROR(r.LocalRef("resourceModifier", &s->resource_modifier));
  LIFEBOAT_RETURN_IF_ERROR(r.LocalRef("resourcePolicy", &s->resource_policy));
  LIFEBOAT_RETURN_IF_ERROR(
      r.OptBool("skipDefaultResourceModifier", &s->skip_default_resource_modifier));
  if (r.Get("uploaderConfig") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader u,
                              Reader::Make(r.Get("uploaderConfig"), r.Path("uploaderConfig")));
    UploaderConfigForRestore uc;
    LIFEBOAT_RETURN_IF_ERROR(u.OptBool("writeSparseFiles", &uc.write_sparse_files));
    LIFEBOAT_RETURN_IF_ERROR(u.Int("parallelFilesDownload", &uc.parallel_files_download));
    s->uploader_config = uc;
  }
  return absl::OkStatus();
}

json::value WriteSpec(const RestoreSpec& s, const json::value* base) {
  Writer w(base);
  w.Str("backupName", s.backup_name);
  w.Str("scheduleName", s.schedule_name);
  w.StrList("includedNamespaces", s.included_namespaces);
  w.StrList("excludedNamespaces", s.excluded_namespaces);
  w.StrList("includedResources", s.included_resources);
  w.StrList("excludedResources", s.excluded_resources);
  w.StrMap("namespaceMapping", s.namespace_mapping);
  w.Selector("labelSelector", s.label_selector);
  w.SelectorList("orLabelSelectors", s.or_label_selectors);
  w.OptBool("restorePVs", s.restore_pvs);
  if (s.restore_status) {
    Writer rs(w.Base("restoreStatus"));
    rs.StrList("includedResources", s.restore_status->included_resources);
    rs.StrList("excludedResources", s.restore_status->excluded_resources);
    w.Set("restoreStatus", rs.Take());
  } else {
    w.Erase("restoreStatus");
  }
  w.OptBool("preserveNodePorts", s.preserve_node_ports);
  w.OptBool("includeClusterResources", s.include_cluster_resources);
  w.Set("hooks", WriteHooks(s.hooks, w.Base("hooks")));
  w.Str("existingResourcePolicy", s.existing_resource_policy);
  w.Dur("itemOperationTimeout", s.item_operation_timeout);
  w.LocalRef("resourceModifier", s.resource_modifier);
  w.LocalRef("resourcePolicy", s.resource_policy);
  w.OptBool("skipDefaultResourceModifier", s.skip_default_resource_modifier);
  if (s.uploader_config) {
    Writer u(w.Base("uploaderConfig"));
    u.OptBool("writeSparseFiles", s.uploader_config->write_sparse_files);
    u.Int("parallelFilesDownload", s.uploader_config->parallel_files_download);
    w.Set("uploaderConfig", u.Take());
  } else {
    w.Erase("uploaderConfig");
  }
  return w.Take();
}

Status ReadStatus(const Reader& r, RestoreStatus* s) {
  LIFEBOAT_RETURN_IF_ERROR(internal::ReadEnum(r, "phase", kPhases, &s->phase));
  LIFEBOAT_RETURN_IF_ERROR(r.StrList("validationErrors", &s->validation_errors));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("warnings", &s->warnings));
  LIFEBOAT_RETURN_IF_ERROR(r.Int("errors", &s->errors));
  LIFEBOAT_RETURN_IF_ERROR(r.Str("failureReason", &s->failure_reason));
  LIFEBOAT_RETURN_IF_ERROR(r.Time("startTimestamp", &s->start_timestamp));
  LIFEBOAT_RETURN_IF_ERROR(r.Time("completionTimestamp", &s->completion_timestamp));
  if (r.Get("progress") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader p, Reader::Make(r.Get("progress"), r.Path("progress")));
    RestoreProgress prog;
    LIFEBOAT_RETURN_IF_ERROR(p.Int("totalItems", &prog.total_items));
    LIFEBOAT_RETURN_IF_ERROR(p.Int("itemsRestored", &prog.items_restored));
    s->progress = prog;
  }
  LIFEBOAT_RETURN_IF_ERROR(
      r.Int("restoreItemOperationsAttempted", &s->restore_item_operations_attempted));
  LIFEBOAT_RETURN_IF_ERROR(
      r.Int("restoreItemOperationsCompleted", &s->restore_item_operations_completed));
  LIFEBOAT_RETURN_IF_ERROR(
      r.Int("restoreItemOperationsFailed", &s->restore_item_operations_failed));
  if (r.Get("hookStatus") != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(Reader h, Reader::Make(r.Get("hookStatus"), r.Path("hookStatus")));
    HookStatus hs;
    LIFEBOAT_RETURN_IF_ERROR(h.Int("hooksAttempted", &hs.hooks_attempted));
    LIFEBOAT_RETURN_IF_ERROR(h.Int("hooksFailed", &hs.hooks_failed));
    s->hook_status = hs;
  }
  return absl::OkStatus();
}

json::value WriteStatus(const RestoreStatus& s, const json::value* base) {
  Writer w(base);
  w.Str("phase", std::string(ToString(s.phase)));
  w.StrList("validationErrors", s.validation_errors);
  w.Int("warnings", s.warnings);
  w.Int("errors", s.errors);
  w.Str("failureReason", s.failure_reason);
  w.Time("startTimestamp", s.start_timestamp);
  w.Time("completionTimestamp", s.completion_timestamp);
  if (s.progress) {
    Writer p(w.Base("progress"));
    p.Int("totalItems", s.progress->total_items);
    p.Int("itemsRestored", s.progress->items_restored);
    w.Set("progress", p.Take());
  } else {
    w.Erase("progress");
  }
  w.Int("restoreItemOperationsAttempted", s.restore_item_operations_attempted);
  w.Int("restoreItemOperationsCompleted", s.restore_item_operations_completed);
  w.Int("restoreItemOperationsFailed", s.restore_item_operations_failed);
  if (s.hook_status) {
    Writer h(w.Base("hookStatus"));
    h.Int("hooksAttempted", s.hook_status->hooks_attempted);
    h.Int("hooksFailed", s.hook_status->hooks_failed);
    w.Set("hookStatus", h.Take());
  } else {
    w.Erase("hookStatus");
  }
  return w.Take();
}

}  // namespace

std::string_view ToString(RestorePhase p) { return internal::EnumToString(kPhases, p); }
std::optional<RestorePhase> ParseRestorePhase(std::string_view s) {
  return internal::EnumFromString(kPhases, s);
}

StatusOr<Restore> RestoreFromJson(const json::value& v) {
  LIFEBOAT_RETURN_IF_ERROR(internal::CheckTypeMeta(v, "Restore"));
  const json::object& o = v.get_object();
  Restore r;
  if (const json::value* m = o.if_contains("metadata"); m != nullptr) {
    LIFEBOAT_ASSIGN_OR_RETURN(r.metadata, ObjectMetaFromJson(*m));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Reader spec, Reader::Make(o.if_contains("spec"), "spec"));
  LIFEBOAT_RETURN_IF_ERROR(ReadSpec(spec, &r.spec));
  LIFEBOAT_ASSIGN_OR_RETURN(Reader st, Reader::Make(o.if_contains("status"), "status"));
  LIFEBOAT_RETURN_IF_ERROR(ReadStatus(st, &r.status));
  r.raw = o;
  return r;
}

json::value ToJson(const Restore& r) {
  json::object out = internal::WriteTop(r.raw, "Restore", r.metadata);
  out["spec"] = WriteSpec(r.spec, r.raw.if_contains("spec"));
  out["status"] = WriteStatus(r.status, r.raw.if_contains("status"));
  return out;
}

}  // namespace lifeboat::api
