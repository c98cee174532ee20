#pragma once

// A parsed JSON document as a flat tape: simdjson's DOM (a sequence of 64-bit words, one or two
// per value, and every string's unescaped bytes in one buffer), read in place. simdjson parses
// with SIMD instructions several times faster than Boost.JSON builds a boost::json::value DOM,
// with no per-value allocation, no hashing of object keys and no reference counting: the
// cheapest parse for data most of which is only looked at or passed on (a list page of the API
// server).
//
// A JsonNode reads the tape in place: type, scalars, members by key (a linear scan of the
// object's keys), iteration, a DOM on demand (ToValue), and Go's json.Marshal form straight
// from the tape (CanonicalJson, the same bytes as CanonicalJson of the DOM).
//
// Duplicate keys: the last one wins everywhere (Find, ToValue, CanonicalJson), as with Go's
// decoding into a map and Boost.JSON's parser.
//
// The tape format is simdjson's (doc/tape.md in its sources; Debian's libsimdjson 3.x): a
// word's top byte is its type, '{' and '[' hold the index just past their scope in the low 32
// bits and their element count (saturated at 2^24 - 1) in the next 24, a string holds the
// offset of a 32-bit length and the bytes in the string buffer, and a number is followed by
// one word with its value. json_tape_test checks it against Boost.JSON on random documents.

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
  // Objects: members; arrays: elements; 0 otherwise.
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
  ~JsonTape();
  JsonTape(const JsonTape&) = delete;
  JsonTape& operator=(const JsonTape&) = delete;

  // Parses `text` as one JSON document (InvalidArgument with the offset when malformed or deeper
  // than limits.max_depth). For input that arrives in pieces use JsonTapeBuilder.
  static StatusOr<std::shared_ptr<JsonTape>> Parse(std::string_view text, const JsonLimits& limits = {});

  JsonNode root() const { return JsonNode(this, 1); }
  // Bytes held (tape and strings, and the text when kept, as allocated).
  size_t bytes() const;
  // The text parsed, when kept (JsonTapeBuilder::Finish(keep_text)); empty otherwise.
  std::string_view text() const { return text_; }

  // The raw text of each element of the root object's array member `key`, as it appears in
  // text() (trailing whitespace left out), in the order of the tape's elements. Found during
  // the parse (from simdjson's structural positions: no second pass), for a kept text only.
  // NotFound when not known: no text kept, not an object, no such array, the key repeated or
  // spelled with escapes, or a text the tape could only read re-encoded (integers beyond 64
  // bits).
  StatusOr<std::vector<std::string_view>> RawElements(std::string_view key) const;

  // The raw tape (see the top of this file).
  char tag(uint32_t i) const { return static_cast<char>(words_[i] >> 56); }
  uint64_t payload(uint32_t i) const { return words_[i] & 0x00FFFFFFFFFFFFFF; }
  uint64_t word(uint32_t i) const { return words_[i]; }
  // The index just past the value at `i`.
  uint32_t next(uint32_t i) const {
    switch (tag(i)) {
      case '{':
      case '[':
        return static_cast<uint32_t>(words_[i]);
      case 'l':
      case 'u':
      case 'd':
        return i + 2;
      default:
        return i + 1;
    }
  }
  // The string at `i` (a '"' word).
  std::string_view string(uint32_t i) const {
    const uint8_t* p = strings_ + payload(i);
    uint32_t len;
    std::memcpy(&len, p, sizeof len);
    return {reinterpret_cast<const char*>(p + sizeof len), len};
  }

 private:
  friend class JsonTapeBuilder;
  struct Document;
  explicit JsonTape(std::unique_ptr<Document> doc);
  // Parses `size` bytes at `text`, readable for simdjson's padding (64 bytes) beyond them.
  // find_raw_arrays: fills raw_arrays_ from the parse (for a text that is kept).
  static StatusOr<std::shared_ptr<JsonTape>> ParseInto(const char* text, size_t size, const JsonLimits& limits,
                                                       bool find_raw_arrays = false);

  std::unique_ptr<Document> doc_;
  std::shared_ptr<const void> text_owner_;  // holds text_ (when kept)
  std::string_view text_;
  size_t text_bytes_ = 0;  // allocated for text_
  // The root object's array members as written (key without quotes, as in the text) and their
  // elements' text, found from the parse's structural positions; valid when raw_arrays_known_.
  struct RawArray {
    std::string_view key;
    std::vector<std::string_view> elements;
  };
  std::vector<RawArray> raw_arrays_;
  bool raw_arrays_known_ = false;
  const uint64_t* words_ = nullptr;
  const uint8_t* strings_ = nullptr;
};

// Builds a JsonTape from a document that arrives in pieces: Write buffers them, Finish parses.
class JsonTapeBuilder {
 public:
  explicit JsonTapeBuilder(const JsonLimits& limits = {});
  ~JsonTapeBuilder();
  JsonTapeBuilder(const JsonTapeBuilder&) = delete;
  JsonTapeBuilder& operator=(const JsonTapeBuilder&) = delete;

  // Appends the next piece; ResourceExhausted beyond limits.max_bytes.
  Status Write(std::string_view piece);
  // Parses what was written: the tape, or InvalidArgument "invalid JSON at offset N: ..." (the
  // builder starts over empty either way). keep_text: the tape keeps the text (JsonTape::text,
  // RawElements), which then lives as long as the tape.
  StatusOr<std::shared_ptr<JsonTape>> Finish(bool keep_text = false);
  // Drops everything written so far.
  void Reset();

 private:
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
// The same, appended to `out`.
void AppendCanonicalJson(JsonNode node, std::string& out, std::initializer_list<JsonExtraMember> extra = {});

// ----------------------------------------------------------------------------------------------
// Inline parts.

template <typename Fn>
void JsonNode::ForEachElement(Fn&& fn) const {
  if (!is_array()) return;
  for (uint32_t i = index_ + 1; tape_->tag(i) != ']'; i = tape_->next(i)) fn(JsonNode(tape_, i));
}

template <typename Fn>
void JsonNode::ForEachMember(Fn&& fn) const {
  if (!is_object()) return;
  for (uint32_t k = index_ + 1; tape_->tag(k) != '}'; k = tape_->next(k + 1)) {
    fn(tape_->string(k), JsonNode(tape_, k + 1));
  }
}

}  // namespace lifeboat
