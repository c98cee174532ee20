#include "lifeboat/common/json_tape.h"

#include <charconv>

#include <algorithm>
#include <array>
#include <cmath>

#include <boost/json/basic_parser_impl.hpp>

#include "src/common/go_json.h"

namespace lifeboat {
namespace json = boost::json;
using Node = JsonTape::Node;

// ----------------------------------------------------------------------------------------------
// Reading.

std::optional<std::string_view> JsonNode::String() const {
  if (!is_string()) return std::nullopt;
  return tape_->string(tape_->node(index_));
}

std::optional<int64_t> JsonNode::Int() const {
  if (!valid()) return std::nullopt;
  const Node& n = tape_->node(index_);
  switch (n.type) {
    case JsonType::kInt64:
      return n.i;
    case JsonType::kUint64:
      if (n.u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(n.u);
      return std::nullopt;
    case JsonType::kDouble:
      if (std::isfinite(n.d) && std::trunc(n.d) == n.d && std::fabs(n.d) < 9.2e18) {
        return static_cast<int64_t>(n.d);
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<bool> JsonNode::Bool() const {
  if (!valid() || type() != JsonType::kBool) return std::nullopt;
  return tape_->node(index_).b;
}

JsonNode JsonNode::Find(std::string_view key) const {
  if (!is_object()) return {};
  JsonNode found;
  const Node& o = tape_->node(index_);
  for (uint32_t k = index_ + 1; k < o.next;) {
    const Node& kn = tape_->node(k);
    if (kn.s.size == key.size() && tape_->string(kn) == key) found = JsonNode(tape_, k + 1);
    k = tape_->node(k + 1).next;
  }
  return found;
}

JsonNode JsonNode::Find(std::initializer_list<std::string_view> path) const {
  JsonNode cur = *this;
  for (std::string_view key : path) {
    cur = cur.Find(key);
    if (!cur.valid()) return {};
  }
  return cur;
}

json::value JsonNode::ToValue(json::storage_ptr storage) const {
  if (!valid()) return json::value(nullptr, storage);
  const Node& n = tape_->node(index_);
  switch (n.type) {
    case JsonType::kNull:
      return json::value(nullptr, storage);
    case JsonType::kBool:
      return json::value(n.b, storage);
    case JsonType::kInt64:
      return json::value(n.i, storage);
    case JsonType::kUint64:
      return json::value(n.u, storage);
    case JsonType::kDouble:
      return json::value(n.d, storage);
    case JsonType::kString:
      return json::value(json::string_view(tape_->string(n).data(), n.s.size), storage);
    case JsonType::kArray: {
      json::array a(storage);
      a.reserve(n.s.size);
      ForEachElement([&](JsonNode e) { a.push_back(e.ToValue(storage)); });
      return json::value(std::move(a));
    }
    case JsonType::kObject: {
      json::object o(n.s.size, storage);
      ForEachMember([&](std::string_view key, JsonNode v) {
        o.insert_or_assign(json::string_view(key.data(), key.size()), v.ToValue(storage));
      });
      return json::value(std::move(o));
    }
  }
  return json::value(nullptr, storage);
}

// ----------------------------------------------------------------------------------------------
// Building.

namespace {

// basic_parser's handler: appends nodes and string bytes to the tape being built.
struct TapeHandler {
  static constexpr std::size_t max_object_size = std::size_t(UINT32_MAX);
  static constexpr std::size_t max_array_size = std::size_t(UINT32_MAX);
  static constexpr std::size_t max_key_size = std::size_t(UINT32_MAX);
  static constexpr std::size_t max_string_size = std::size_t(UINT32_MAX);

  std::shared_ptr<JsonTape> tape;
  std::vector<Node>* nodes = nullptr;
  std::vector<char>* strings = nullptr;
  std::vector<uint32_t> open;  // the containers not closed yet
  uint32_t string_start = 0;
  bool in_string = false;

  uint32_t Push(JsonType type) {
    const auto index = static_cast<uint32_t>(nodes->size());
    Node& n = nodes->emplace_back();
    n.type = type;
    n.is_key = false;
    n.next = index + 1;
    n.u = 0;
    return index;
  }
  void Append(json::string_view s) {
    if (!in_string) {
      string_start = static_cast<uint32_t>(strings->size());
      in_string = true;
    }
    strings->insert(strings->end(), s.data(), s.data() + s.size());
  }
  bool PushString(bool key, json::error_code& ec) {
    if (strings->size() > UINT32_MAX) {
      ec = json::error::string_too_large;
      return false;
    }
    Node& n = nodes->operator[](Push(JsonType::kString));
    n.is_key = key;
    n.s.offset = string_start;
    n.s.size = static_cast<uint32_t>(strings->size() - string_start);
    in_string = false;
    return true;
  }
  bool Close(std::size_t size) {
    Node& n = (*nodes)[open.back()];
    open.pop_back();
    n.s.size = static_cast<uint32_t>(size);
    n.next = static_cast<uint32_t>(nodes->size());
    return true;
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    open.push_back(Push(JsonType::kObject));
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) { return Close(n); }
  bool on_array_begin(json::error_code&) {
    open.push_back(Push(JsonType::kArray));
    return true;
  }
  bool on_array_end(std::size_t n, json::error_code&) { return Close(n); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    Append(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    Append(s);
    return PushString(true, ec);
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    Append(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code& ec) {
    Append(s);
    return PushString(false, ec);
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(int64_t i, json::string_view, json::error_code&) {
    (*nodes)[Push(JsonType::kInt64)].i = i;
    return true;
  }
  bool on_uint64(uint64_t u, json::string_view, json::error_code&) {
    (*nodes)[Push(JsonType::kUint64)].u = u;
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    (*nodes)[Push(JsonType::kDouble)].d = d;
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    (*nodes)[Push(JsonType::kBool)].b = b;
    return true;
  }
  bool on_null(json::error_code&) {
    Push(JsonType::kNull);
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

json::parse_options Options(const JsonLimits& limits) {
  json::parse_options o;
  o.max_depth = limits.max_depth;
  return o;
}

}  // namespace

struct JsonTapeBuilder::Impl {
  explicit Impl(const JsonLimits& limits) : parser(Options(limits)) { Start(); }

  void Start() {
    TapeHandler& h = parser.handler();
    h.tape = std::make_shared<JsonTape>();
    h.nodes = &h.tape->nodes_;
    h.strings = &h.tape->strings_;
    // Sized like the last document (list pages of one resource are alike): no regrowth.
    h.nodes->reserve(node_hint);
    h.strings->reserve(string_hint);
    h.open.clear();
    h.in_string = false;
  }

  json::basic_parser<TapeHandler> parser;
  size_t node_hint = 64;
  size_t string_hint = 1024;
};

JsonTapeBuilder::JsonTapeBuilder(const JsonLimits& limits) : impl_(std::make_unique<Impl>(limits)) {}
JsonTapeBuilder::~JsonTapeBuilder() = default;

bool JsonTapeBuilder::Write(std::string_view piece, boost::system::error_code& ec) {
  const size_t n = impl_->parser.write_some(true, piece.data(), piece.size(), ec);
  if (!ec && n < piece.size()) ec = json::error::extra_data;
  return !ec;
}

bool JsonTapeBuilder::Finish(boost::system::error_code& ec) {
  impl_->parser.write_some(false, nullptr, 0, ec);
  if (!ec && !impl_->parser.done()) ec = json::error::incomplete;
  return !ec;
}

std::shared_ptr<JsonTape> JsonTapeBuilder::Release() {
  TapeHandler& h = impl_->parser.handler();
  std::shared_ptr<JsonTape> tape = std::move(h.tape);
  impl_->node_hint = std::max<size_t>(tape->nodes_.size() + tape->nodes_.size() / 8, 64);
  impl_->string_hint = std::max<size_t>(tape->strings_.size() + tape->strings_.size() / 8, 1024);
  Reset();
  return tape;
}

void JsonTapeBuilder::Reset() {
  impl_->parser.reset();
  impl_->Start();
}

StatusOr<std::shared_ptr<JsonTape>> JsonTape::Parse(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError("invalid JSON: document is larger than " +
                                      std::to_string(limits.max_bytes) + " bytes");
  }
  JsonTapeBuilder b(limits);
  boost::system::error_code ec;
  size_t consumed = b.impl_->parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    return absl::InvalidArgumentError("invalid JSON at offset " + std::to_string(consumed) +
                                      ": unexpected data after the document");
  }
  if (ec) {
    return absl::InvalidArgumentError("invalid JSON at offset " + std::to_string(consumed) + ": " +
                                      ec.message());
  }
  return b.Release();
}

// ----------------------------------------------------------------------------------------------
// Go's json.Marshal form.

namespace {

using go_json::Out;

void Marshal(const JsonTape& t, uint32_t index, Out& out, std::initializer_list<JsonExtraMember> extra);

// An object's members sorted by key bytes, the last of repeated keys kept (Go's map decoding),
// with the extra members that have no key of their own.
void MarshalObject(const JsonTape& t, uint32_t index, Out& out,
                   std::initializer_list<JsonExtraMember> extra) {
  struct Member {
    std::string_view key;
    uint32_t value;  // the value's node, or UINT32_MAX - i for extra[i]
  };
  const Node& o = t.node(index);
  constexpr size_t kSmall = 32;
  std::array<Member, kSmall> small;
  std::vector<Member> large;
  Member* members = small.data();
  const size_t most = o.s.size + extra.size();
  if (most > kSmall) {
    large.resize(most);
    members = large.data();
  }
  size_t n = 0;
  bool sorted = true;
  for (uint32_t k = index + 1; k < o.next;) {
    Member m{t.string(t.node(k)), k + 1};
    if (n > 0 && !go_json::KeyLess(members[n - 1].key, m.key)) sorted = false;
    members[n++] = m;
    k = t.node(k + 1).next;
  }
  const size_t own = n;
  uint32_t e = 0;
  for (const JsonExtraMember& x : extra) {
    bool present = false;
    for (size_t i = 0; i < own && !present; ++i) present = members[i].key == x.key;
    if (!present) {
      members[n++] = {x.key, UINT32_MAX - e};
      sorted = false;
    }
    ++e;
  }
  if (!sorted) {
    // Stable: of repeated keys the one last in the document stays last.
    std::stable_sort(members, members + n, [](const Member& a, const Member& b) {
      return go_json::KeyLess(a.key, b.key);
    });
  }
  out.Char('{');
  bool first = true;
  for (size_t i = 0; i < n; ++i) {
    if (i + 1 < n && members[i + 1].key == members[i].key) continue;  // a later one wins
    if (!first) out.Char(',');
    first = false;
    go_json::GoString(members[i].key, out);
    out.Char(':');
    if (members[i].value > UINT32_MAX - extra.size()) {
      go_json::GoString(extra.begin()[UINT32_MAX - members[i].value].value, out);
    } else {
      Marshal(t, members[i].value, out, {});
    }
  }
  out.Char('}');
}

void Marshal(const JsonTape& t, uint32_t index, Out& out, std::initializer_list<JsonExtraMember> extra) {
  const Node& n = t.node(index);
  switch (n.type) {
    case JsonType::kObject:
      MarshalObject(t, index, out, extra);
      return;
    case JsonType::kArray: {
      out.Char('[');
      for (uint32_t i = index + 1; i < n.next; i = t.node(i).next) {
        if (i != index + 1) out.Char(',');
        Marshal(t, i, out, {});
      }
      out.Char(']');
      return;
    }
    case JsonType::kString:
      go_json::GoString(t.string(n), out);
      return;
    case JsonType::kInt64:
      out.Reserve(24);
      out.Commit(std::to_chars(out.cursor(), out.cursor() + 24, n.i).ptr);
      return;
    case JsonType::kUint64:
      out.Reserve(24);
      out.Commit(std::to_chars(out.cursor(), out.cursor() + 24, n.u).ptr);
      return;
    case JsonType::kDouble:
      go_json::GoFloat(n.d, out);
      return;
    case JsonType::kBool:
      out.Append(n.b ? "true" : "false");
      return;
    case JsonType::kNull:
      out.Append("null");
      return;
  }
}

}  // namespace

std::string CanonicalJson(JsonNode node, std::initializer_list<JsonExtraMember> extra) {
  if (!node.valid()) return "null";
  thread_local Out buffer;
  buffer.Clear();
  Marshal(*node.tape(), node.index(), buffer, extra);
  std::string out(buffer.view());
  if (buffer.capacity() > (size_t{4} << 20)) buffer = Out();
  return out;
}

}  // namespace lifeboat
