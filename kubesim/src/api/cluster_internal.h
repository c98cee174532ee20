#pragma once

#include <map>
#include <unordered_map>
#include <vector>

// Private parts of Cluster shared by its implementation files.

#include <mutex>
#include <string>

#include <boost/json.hpp>

#include "kubesim/src/api/cluster.h"

namespace kubesim {

GroupResource GrOf(const ResourceType& t);

// Converts a stored object to the version of `to` (the built-in autoscaling v1/v2 pair, and
// custom resources, whose versions differ only in apiVersion: conversion strategy None).
StatusOr<boost::json::value> ConvertTo(const ResourceType& to, boost::json::value obj);

// Everything in an object that is not metadata (nor status, if `ignore_status`): a change in
// it bumps metadata.generation.
bool SpecChanged(const boost::json::value& a, const boost::json::value& b, bool ignore_status);

// The cluster IPs and node ports the stored services hold, kept up to date from the store's
// events (a full scan only when they have left the store's window), so an allocation costs
// O(log n) rather than a scan of every service. Guarded by Cluster::Impl::alloc_mu.
struct ServiceAddresses {
  int64_t rv = -1;  // events applied up to this revision; -1: not built
  struct Held {
    uint32_t ip = 0;  // 0: none (headless, ExternalName, unparsable)
    std::vector<int64_t> ports;
  };
  std::unordered_map<std::string, Held> by_uid;
  std::map<uint32_t, int> ips;   // reference counts
  std::map<int64_t, int> ports;  // reference counts
  uint32_t next_offset = 2;      // where the search for a free IP starts
};

struct Cluster::Impl {
  Options options;
  std::mutex alloc_mu;  // service cluster IP and node port allocation
  ServiceAddresses addresses;
};

// Per-type hooks run inside the store's atomic mutation.
struct Hooks {
  // Validation and allocation specific to a kind, on create.
  static Status BeforeCreate(Cluster& c, const ResourceType& type, boost::json::value& obj);
  // On update of the main resource (not a subresource).
  static Status BeforeUpdate(Cluster& c, const ResourceType& type, const boost::json::value& old_obj,
                             boost::json::value& obj);
};

// Service cluster IPs and node ports (kube-apiserver allocates them synchronously on create).
Status AllocateServiceAddresses(Cluster& c, std::mutex& mu, ServiceAddresses& index,
                                const Cluster::Options& options, const boost::json::value* old_obj,
                                boost::json::value& obj);

// CustomResourceDefinition lifecycle: accepted names and conditions on create, registration
// in the registry, and cleanup of instances on delete.
Status PrepareCrd(boost::json::value& crd);
void RegisterCrd(Registry& registry, const boost::json::value& crd);

// True while a namespace's spec.finalizers is not empty (it then outlives its deletion).
bool NamespaceHasSpecFinalizers(const boost::json::value& ns);

std::string EncodeContinue(int64_t rv, const std::string& key);
// InvalidArgument (400) when the token is not one kubesim made.
Status DecodeContinue(const std::string& token, int64_t& rv, std::string& key);

}  // namespace kubesim
