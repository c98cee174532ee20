#pragma once

// A parsed JSON document as a flat tape: one 16-byte node per value (and per object key) in
// document order, and every string's unescaped bytes in one buffer. Building it is a single
// SAX pass (boost::json::basic_parser) with no per-value allocation, no hashing of object keys
// and no reference counting, which makes it several times cheaper than a boost::json::value
// DOM for data most of which is only looked at or passed on (a list page of the API server).
//
// A JsonNode reads the tape in place: type, scalars, members by key (a linear scan of the
// object's keys), iteration, a DOM on demand (ToValue), and Go's json.Marshal form straight
// from the tape (CanonicalJson, the same bytes as CanonicalJson of the DOM).
//
// Duplicate keys: the last one wins everywhere (Find, ToValue, CanonicalJson), as with Go's
// decoding into a map and Boost.JSON's parser.

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/json.h"
#include "lifeboat/common/status.h"

namespace lifeboat {

class JsonTape;

enum class JsonType : uint8_t { kNull, kBool, kInt64, kUint64, kDouble, kString, kArray, kObject };

// One value of a tape (or a null node: valid() false). Cheap to copy; valid while its tape lives.
class JsonNode {
 public:
  JsonNode() = default;
  JsonNode(const JsonTape* tape, uint32_t index) : tape_(tape), index_(index) {}

  bool valid() const { return tape_ != nullptr; }
  JsonType type() const;
  bool is_object() const { return valid() && type() == JsonType::kObject; }
  bool is_array() const { return valid() && type() == JsonType::kArray; }
  bool is_string() const { return valid() && type() == JsonType::kString; }

  // Scalars (nullopt for another type; Int also takes a uint64 that fits and a whole double).
  std::optional<std::string_view> String() const;
  std::optional<int64_t> Int() const;
  std::optional<bool> Bool() const;

  // Objects: the value of `key` (the last one when repeated), or an invalid node.
  JsonNode Find(std::string_view key) const;
  // A path of object keys; invalid when any step is missing or not an object.
  JsonNode Find(std::initializer_list<std::string_view> path) const;
  // Objects: members; arrays: elements.
  uint32_t size() const;

  // Iteration. Arrays: ForEachElement(fn(JsonNode)); objects: ForEachMember(fn(key, JsonNode)),
  // in document order (repeated keys included).
  template <typename Fn>
  void ForEachElement(Fn&& fn) const;
  template <typename Fn>
  void ForEachMember(Fn&& fn) const;

  // A DOM copy in `storage`.
  boost::json::value ToValue(boost::json::storage_ptr storage = {}) const;

  const JsonTape* tape() const { return tape_; }
  uint32_t index() const { return index_; }

 private:
  const JsonTape* tape_ = nullptr;
  uint32_t index_ = 0;
};

class JsonTape {
 public:
  struct Node {
    JsonType type;
    bool is_key;       // an object member's key (type kString)
    uint32_t next;     // the index just past this value (containers: past their descendants)
    union {
      struct {
        uint32_t offset, size;  // strings: bytes in strings(); containers: size = members/elements
      } s;
      int64_t i;
      uint64_t u;
      double d;
      bool b;
    };
  };
  static_assert(sizeof(Node) == 16);

  // Parses `text` as one JSON document (InvalidArgument with the offset when malformed or deeper
  // than limits.max_depth). For streaming input use JsonTapeBuilder.
  static StatusOr<std::shared_ptr<JsonTape>> Parse(std::string_view text, const JsonLimits& limits = {});

  JsonNode root() const { return nodes_.empty() ? JsonNode() : JsonNode(this, 0); }
  const Node& node(uint32_t i) const { return nodes_[i]; }
  std::string_view string(const Node& n) const { return {strings_.data() + n.s.offset, n.s.size}; }
  size_t nodes() const { return nodes_.size(); }
  // Bytes held (nodes and strings).
  size_t bytes() const { return nodes_.capacity() * sizeof(Node) + strings_.capacity(); }

 private:
  friend class JsonTapeBuilder;
  std::vector<Node> nodes_;
  std::vector<char> strings_;
};

// Builds a JsonTape from a document that arrives in pieces.
class JsonTapeBuilder {
 public:
  explicit JsonTapeBuilder(const JsonLimits& limits = {});
  ~JsonTapeBuilder();
  JsonTapeBuilder(const JsonTapeBuilder&) = delete;
  JsonTapeBuilder& operator=(const JsonTapeBuilder&) = delete;

  // Feeds the next piece; false (and `ec` set) when the document is malformed so far.
  bool Write(std::string_view piece, boost::system::error_code& ec);
  // Ends the document; false (and `ec` set) when it is incomplete.
  bool Finish(boost::system::error_code& ec);
  // The tape of a finished document (the builder starts over empty).
  std::shared_ptr<JsonTape> Release();
  // Drops everything fed so far.
  void Reset();

 private:
  friend class JsonTape;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Go's json.Marshal form of `node` (see CanonicalJson in json.h): the same bytes as
// CanonicalJson(node.ToValue()). `extra` members are added to a root object when it has no such
// key (Kubernetes list items without kind/apiVersion); keys are {key, string value}.
struct JsonExtraMember {
  std::string_view key, value;
};
std::string CanonicalJson(JsonNode node, std::initializer_list<JsonExtraMember> extra = {});

// ----------------------------------------------------------------------------------------------
// Inline parts.

inline JsonType JsonNode::type() const { return tape_->node(index_).type; }

inline uint32_t JsonNode::size() const {
  const JsonTape::Node& n = tape_->node(index_);
  return n.type == JsonType::kObject || n.type == JsonType::kArray ? n.s.size : 0;
}

template <typename Fn>
void JsonNode::ForEachElement(Fn&& fn) const {
  if (!is_array()) return;
  const JsonTape::Node& a = tape_->node(index_);
  for (uint32_t i = index_ + 1; i < a.next; i = tape_->node(i).next) fn(JsonNode(tape_, i));
}

template <typename Fn>
void JsonNode::ForEachMember(Fn&& fn) const {
  if (!is_object()) return;
  const JsonTape::Node& o = tape_->node(index_);
  for (uint32_t k = index_ + 1; k < o.next;) {
    const uint32_t v = k + 1;
    fn(tape_->string(tape_->node(k)), JsonNode(tape_, v));
    k = tape_->node(v).next;
  }
}

}  // namespace lifeboat
