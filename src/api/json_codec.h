#pragma once

// Private helpers shared by the codecs: a Reader that reads typed fields with errors naming
// the field path, and a Writer that overlays known fields on a copy of the original object so
// that fields Lifeboat does not know survive a read-modify-write (docs/api.md).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/api/duration.h"
#include "lifeboat/api/label_selector.h"
#include "lifeboat/api/meta.h"
#include "lifeboat/common/status.h"

namespace lifeboat::api::internal {

Status TypeError(std::string_view path, std::string_view what);

class Reader {
 public:
  // `v` may be null or JSON null (read as an empty object); anything else but an object is an
  // InvalidArgument "<path>: must be an object".
  static StatusOr<Reader> Make(const boost::json::value* v, std::string path);

  // Null when missing or JSON null.
  const boost::json::value* Get(std::string_view key) const;
  std::string Path(std::string_view key) const;

  Status Str(std::string_view key, std::string* out) const;
  Status Int(std::string_view key, int64_t* out) const;
  Status Bool(std::string_view key, bool* out) const;
  Status OptBool(std::string_view key, std::optional<bool>* out) const;
  Status StrList(std::string_view key, std::vector<std::string>* out) const;
  Status StrMap(std::string_view key, std::map<std::string, std::string>* out) const;
  Status Dur(std::string_view key, Duration* out) const;
  Status OptDur(std::string_view key, std::optional<Duration>* out) const;
  Status Time(std::string_view key, std::optional<std::string>* out) const;
  Status Selector(std::string_view key, std::optional<LabelSelector>* out) const;
  Status SelectorList(std::string_view key, std::vector<LabelSelector>* out) const;
  Status LocalRef(std::string_view key, std::optional<TypedLocalObjectReference>* out) const;
  Status SecretRef(std::string_view key, std::optional<SecretKeySelector>* out) const;
  // Elements of an array of objects, each with its path "<key>[i]".
  Status Objects(std::string_view key, std::vector<Reader>* out) const;

  const boost::json::value* self() const { return self_; }

 private:
  Reader(const boost::json::value* self, const boost::json::object* obj, std::string path)
      : self_(self), obj_(obj), path_(std::move(path)) {}
  const boost::json::value* self_;
  const boost::json::object* obj_;
  std::string path_;
};

class Writer {
 public:
  // Starts from a copy of `base` when it is an object, else from an empty object.
  explicit Writer(const boost::json::value* base);

  // The original value of `key` in the base (for nested overlays), or null.
  const boost::json::value* Base(std::string_view key) const;
  // The base's array element i, or null.
  static const boost::json::value* BaseElement(const boost::json::value* array, size_t i);

  // omitempty: an empty value removes the key.
  void Str(std::string_view key, const std::string& v);
  void Int(std::string_view key, int64_t v);
  void Bool(std::string_view key, bool v);
  void StrList(std::string_view key, const std::vector<std::string>& v);
  void StrMap(std::string_view key, const std::map<std::string, std::string>& v);
  void Time(std::string_view key, const std::optional<std::string>& v);
  void Selector(std::string_view key, const std::optional<LabelSelector>& v);
  void SelectorList(std::string_view key, const std::vector<LabelSelector>& v);
  void LocalRef(std::string_view key, const std::optional<TypedLocalObjectReference>& v);
  void SecretRef(std::string_view key, const std::optional<SecretKeySelector>& v);
  // Pointer fields: absent when nullopt, written even when false / zero.
  void OptBool(std::string_view key, const std::optional<bool>& v);
  void OptDur(std::string_view key, const std::optional<Duration>& v);
  // Non-pointer metav1.Duration: Go's omitempty never omits a struct, so always written.
  void Dur(std::string_view key, Duration v);
  // Always written (fields without omitempty in Go).
  void StrAlways(std::string_view key, const std::string& v);
  void Set(std::string_view key, boost::json::value v);
  void Erase(std::string_view key);

  boost::json::object Take() { return std::move(obj_); }

 private:
  const boost::json::object* base_ = nullptr;
  boost::json::object obj_;
};

// Top-level objects: checks apiVersion/kind when present (InvalidArgument on a mismatch).
Status CheckTypeMeta(const boost::json::value& v, std::string_view kind);
// Writes apiVersion, kind and metadata over a copy of `raw`; the caller adds spec/status.
boost::json::object WriteTop(const boost::json::object& raw, std::string_view kind,
                             const ObjectMeta& meta);
void WriteMetaOverlay(const ObjectMeta& meta, const boost::json::value* base,
                      boost::json::object* out);

// Enum helpers: a table of (enum, text) pairs.
template <typename E>
struct EnumName {
  E value;
  std::string_view name;
};

template <typename E, size_t N>
std::string_view EnumToString(const EnumName<E> (&table)[N], E v) {
  for (const auto& e : table) {
    if (e.value == v) return e.name;
  }
  return "";
}

template <typename E, size_t N>
std::optional<E> EnumFromString(const EnumName<E> (&table)[N], std::string_view s) {
  for (const auto& e : table) {
    if (e.name == s) return e.value;
  }
  return std::nullopt;
}

// Reads an enum string field; "" is the table's first entry (kUnset by convention).
template <typename E, size_t N>
Status ReadEnum(const Reader& r, std::string_view key, const EnumName<E> (&table)[N], E* out) {
  std::string s;
  LIFEBOAT_RETURN_IF_ERROR(r.Str(key, &s));
  std::optional<E> e = EnumFromString(table, s);
  if (!e) return TypeError(r.Path(key), "unsupported value \"" + s + "\"");
  *out = *e;
  return absl::OkStatus();
}

}  // namespace lifeboat::api::internal
