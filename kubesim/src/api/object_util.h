#pragma once

// Small helpers over the JSON of Kubernetes objects, shared by the API layer and controllers.

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace kubesim {

// metadata.<key> as a string ("" if absent or not a string).
std::string MetaString(const boost::json::value& obj, std::string_view key);
// The metadata object, created if missing (obj must be an object).
boost::json::object& Meta(boost::json::value& obj);
const boost::json::object* MetaIfAny(const boost::json::value& obj);
// metadata.labels, or nullptr.
const boost::json::object* Labels(const boost::json::value& obj);
std::vector<std::string> Finalizers(const boost::json::value& obj);
void SetFinalizers(boost::json::value& obj, const std::vector<std::string>& finalizers);
bool HasFinalizer(const boost::json::value& obj, std::string_view finalizer);

// A random RFC 4122 version 4 UUID.
std::string NewUid();
// Five characters from Kubernetes' generateName alphabet (no vowels, no confusable digits).
std::string RandomSuffix(size_t n = 5);
// Now as RFC 3339 with seconds precision, UTC: "2026-11-24T12:00:00Z".
std::string NowRfc3339();

// Reorders `obj`'s top-level keys to apiVersion, kind, metadata, then the rest (how
// kube-apiserver serializes objects; lists rely on it to drop apiVersion/kind cheaply).
void NormalizeKeyOrder(boost::json::value& obj);

// Parses "group/version" or "version" into its parts.
void SplitApiVersion(std::string_view api_version, std::string& group, std::string& version);

}  // namespace kubesim
