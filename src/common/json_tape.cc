#include "lifeboat/common/json_tape.h"

#include <charconv>

#include <algorithm>
#include <bit>
#include <array>
#include <cmath>
#include <mutex>
#include <vector>

#include <simdjson.h>

#include "src/common/go_json.h"

static_assert(simdjson::SIMDJSON_VERSION_MAJOR == 3,
              "json_tape.h reads simdjson 3's tape format; check it against the new version");

namespace lifeboat {
namespace json = boost::json;

// ----------------------------------------------------------------------------------------------
// Reading.

JsonType JsonNode::type() const {
  switch (tape_->tag(index_)) {
    case '{':
      return JsonType::kObject;
    case '[':
      return JsonType::kArray;
    case '"':
      return JsonType::kString;
    case 'l':
      return JsonType::kInt64;
    case 'u':
      return JsonType::kUint64;
    case 'd':
      return JsonType::kDouble;
    case 't':
    case 'f':
      return JsonType::kBool;
    default:
      return JsonType::kNull;
  }
}

namespace {

template <typename T>
T NumberAt(const JsonTape& t, uint32_t i) {
  const uint64_t w = t.word(i + 1);
  T v;
  std::memcpy(&v, &w, sizeof v);
  return v;
}

}  // namespace

std::optional<std::string_view> JsonNode::String() const {
  if (!is_string()) return std::nullopt;
  return tape_->string(index_);
}

std::optional<int64_t> JsonNode::Int() const {
  if (!valid()) return std::nullopt;
  switch (tape_->tag(index_)) {
    case 'l':
      return NumberAt<int64_t>(*tape_, index_);
    case 'u': {
      const auto u = NumberAt<uint64_t>(*tape_, index_);
      if (u <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(u);
      return std::nullopt;
    }
    case 'd': {
      const auto d = NumberAt<double>(*tape_, index_);
      if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<bool> JsonNode::Bool() const {
  if (!valid()) return std::nullopt;
  const char tag = tape_->tag(index_);
  if (tag == 't') return true;
  if (tag == 'f') return false;
  return std::nullopt;
}

uint32_t JsonNode::size() const {
  if (!valid()) return 0;
  const char tag = tape_->tag(index_);
  if (tag != '{' && tag != '[') return 0;
  const auto count = static_cast<uint32_t>((tape_->word(index_) >> 32) & 0xFFFFFF);
  if (count < 0xFFFFFF) return count;
  uint32_t n = 0;  // saturated: count them
  if (tag == '{') {
    ForEachMember([&](std::string_view, JsonNode) { ++n; });
  } else {
    ForEachElement([&](JsonNode) { ++n; });
  }
  return n;
}

JsonNode JsonNode::Find(std::string_view key) const {
  if (tape_ == nullptr || tape_->tag(index_) != '{') return {};
  uint32_t found = 0;
  for (uint32_t k = index_ + 1; tape_->tag(k) != '}'; k = tape_->next(k + 1)) {
    const std::string_view s = tape_->string(k);
    if (s.size() == key.size() && std::memcmp(s.data(), key.data(), key.size()) == 0) found = k + 1;
  }
  return found == 0 ? JsonNode() : JsonNode(tape_, found);
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
  switch (tape_->tag(index_)) {
    case 't':
      return json::value(true, storage);
    case 'f':
      return json::value(false, storage);
    case 'l':
      return json::value(NumberAt<int64_t>(*tape_, index_), storage);
    case 'u':
      return json::value(NumberAt<uint64_t>(*tape_, index_), storage);
    case 'd':
      return json::value(NumberAt<double>(*tape_, index_), storage);
    case '"': {
      std::string_view s = tape_->string(index_);
      return json::value(json::string_view(s.data(), s.size()), storage);
    }
    case '[': {
      json::array a(storage);
      a.reserve(size());
      ForEachElement([&](JsonNode e) { a.push_back(e.ToValue(storage)); });
      return json::value(std::move(a));
    }
    case '{': {
      json::object o(size(), storage);
      ForEachMember([&](std::string_view key, JsonNode v) {
        o.insert_or_assign(json::string_view(key.data(), key.size()), v.ToValue(storage));
      });
      return json::value(std::move(o));
    }
    default:
      return json::value(nullptr, storage);
  }
}

// ----------------------------------------------------------------------------------------------
// Parsing.

namespace {

constexpr size_t kMaxKept = 16;                     // pooled documents and input buffers
constexpr size_t kMaxKeptBytes = size_t{8} << 20;   // of input a pooled one may hold

// Recycled memory: a list page's tape and input are a few hundred KiB each, and fresh memory
// per page would be mapped, faulted in and unmapped again every time (expensive, on a VM
// especially). Most recently used first: still in cache.
template <typename T>
class Pool {
 public:
  // The most recently given one with room for `need` bytes (T::room()), else the most recent.
  std::unique_ptr<T> Take(size_t need = 0) {
    std::lock_guard lock(mu_);
    if (free_.empty()) return std::make_unique<T>();
    size_t pick = free_.size() - 1;
    for (size_t i = free_.size(); i-- > 0;) {
      if (free_[i]->room() >= need) {
        pick = i;
        break;
      }
    }
    std::unique_ptr<T> t = std::move(free_[pick]);
    free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(pick));
    return t;
  }
  void Give(std::unique_ptr<T> t) {
    std::lock_guard lock(mu_);
    if (free_.size() < kMaxKept) free_.push_back(std::move(t));
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> free_;
};

// The input being gathered, with the padding simdjson reads past the end.
struct Input {
  std::unique_ptr<char[]> data;
  size_t size = 0, capacity = 0;  // capacity excludes the padding
  size_t room() const { return capacity; }

  void Append(std::string_view piece) {
    if (piece.size() > capacity - size) {
      const size_t cap = std::bit_ceil(std::max(size + piece.size(), std::max<size_t>(2 * capacity, 64 << 10)));
      std::unique_ptr<char[]> bigger(new char[cap + simdjson::SIMDJSON_PADDING]);
      if (size > 0) std::memcpy(bigger.get(), data.get(), size);
      data = std::move(bigger);
      capacity = cap;
    }
    std::memcpy(data.get() + size, piece.data(), piece.size());
    size += piece.size();
  }
};

template <typename T>
Pool<T>& PoolOf() {
  static Pool<T>* pool = new Pool<T>();  // never destroyed: tapes may die at exit
  return *pool;
}

}  // namespace

namespace {

// The spans of the root object's array members' elements, from the structural positions of
// simdjson's stage 1 (`s`, `n` of them: the offset of every { } [ ] , : and of the first byte
// of every string and scalar, none inside strings), for a text that parsed. Each structural is
// looked at once. False when the text is not as expected (then nothing is known).
template <typename RawArray>
bool FindRawArrays(const char* text, const uint32_t* s, uint32_t n, std::vector<RawArray>& out) {
  auto at = [&](uint32_t j) { return j < n ? text[s[j]] : '\0'; };
  // The index just past the value that starts at structural j (0 when malformed).
  auto skip = [&](uint32_t j) -> uint32_t {
    const char c = at(j);
    if (c != '{' && c != '[') return j + 1;
    uint32_t depth = 0;
    for (; j < n; ++j) {
      const char d = text[s[j]];
      if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return j + 1;
      }
    }
    return 0;
  };
  auto span = [&](uint32_t begin, uint32_t end) {  // structurals [begin, end): trailing blanks out
    size_t last = s[end];
    while (last > s[begin] && (text[last - 1] == ' ' || text[last - 1] == '\n' ||
                               text[last - 1] == '\r' || text[last - 1] == '\t')) {
      --last;
    }
    return std::string_view(text + s[begin], last - s[begin]);
  };
  if (at(0) != '{') return at(0) != '\0';  // a root that is not an object has no members
  uint32_t j = 1;
  if (at(j) == '}') return true;
  while (true) {
    if (at(j) != '"' || at(j + 1) != ':') return false;
    const uint32_t value = j + 2;
    uint32_t after;
    if (at(value) == '[') {
      RawArray array;
      std::string_view key = span(j, j + 1);  // "key"
      if (key.size() < 2 || key.back() != '"') return false;
      array.key = key.substr(1, key.size() - 2);
      uint32_t e = value + 1;
      if (at(e) == ']') {
        after = e + 1;
      } else {
        while (true) {
          const uint32_t end = skip(e);
          if (end == 0 || end >= n) return false;
          array.elements.push_back(span(e, end));
          if (at(end) == ']') {
            after = end + 1;
            break;
          }
          if (at(end) != ',') return false;
          e = end + 1;
        }
      }
      out.push_back(std::move(array));
    } else {
      after = skip(value);
      if (after == 0) return false;
    }
    if (at(after) == '}') return true;
    if (at(after) != ',') return false;
    j = after + 1;
  }
}

}  // namespace

struct JsonTape::Document {
  simdjson::dom::document doc;
  size_t room() const { return doc.capacity(); }
};

JsonTape::JsonTape(std::unique_ptr<Document> doc) : doc_(std::move(doc)) {
  words_ = doc_->doc.tape.get();
  strings_ = doc_->doc.string_buf.get();
}

JsonTape::~JsonTape() {
  if (doc_->doc.capacity() <= kMaxKeptBytes) PoolOf<Document>().Give(std::move(doc_));
}

size_t JsonTape::bytes() const {
  const size_t capacity = doc_->doc.capacity();
  return 8 * (capacity + 3) + 5 * capacity / 3 + simdjson::SIMDJSON_PADDING +  // document::allocate
         text_bytes_;
}

StatusOr<std::vector<std::string_view>> JsonTape::RawElements(std::string_view key) const {
  const JsonNode root = this->root();
  const JsonNode array = root.Find(key);
  if (text_.empty() || !array.is_array()) return absl::NotFoundError("no array to read");
  size_t times = 0;
  root.ForEachMember([&](std::string_view k, JsonNode) { times += k == key; });
  if (times != 1) return absl::NotFoundError("the key is repeated");
  if (raw_arrays_known_) {
    for (const RawArray& a : raw_arrays_) {
      if (a.key == key && a.elements.size() == array.size()) return a.elements;
    }
  }
  return absl::NotFoundError("the text's elements are not known");
}

// One parser per thread (its buffers are sized for the largest document it parsed; a parser
// that grew past kMaxKeptBytes is dropped after the parse).
StatusOr<std::shared_ptr<JsonTape>> JsonTape::ParseInto(const char* text, size_t size, const JsonLimits& limits,
                                                        bool find_raw_arrays) {
  thread_local std::unique_ptr<simdjson::dom::parser> parser;
  if (!parser) parser = std::make_unique<simdjson::dom::parser>();
  std::unique_ptr<JsonTape::Document> doc = PoolOf<JsonTape::Document>().Take(size);
  // Room rounded up to a power of two, so that pooled documents and parsers serve the pages of
  // other lists too instead of being reallocated (and faulted in again) for each larger one.
  // Only the part a page uses is ever touched.
  const size_t want = std::bit_ceil(std::max<size_t>(size, 4096));
  simdjson::error_code error = simdjson::SUCCESS;
  if (parser->capacity() < size || parser->max_depth() != limits.max_depth) {
    error = parser->allocate(want, limits.max_depth);
  }
  if (!error && doc->doc.capacity() < size) error = doc->doc.allocate(want);
  if (!error) {
    error = parser->parse_into_document(doc->doc, text, size, /*realloc_if_needed=*/false).error();
  }
  std::shared_ptr<JsonTape> tape;
  if (!error) {
    tape.reset(new JsonTape(std::move(doc)));
    if (find_raw_arrays) {
      const simdjson::internal::dom_parser_implementation& impl = *parser->implementation;
      tape->raw_arrays_known_ =
          FindRawArrays(text, impl.structural_indexes.get(), impl.n_structural_indexes, tape->raw_arrays_);
      if (!tape->raw_arrays_known_) tape->raw_arrays_.clear();
    }
  }
  if (parser->capacity() > kMaxKeptBytes) parser.reset();
  if (tape) return tape;
  PoolOf<JsonTape::Document>().Give(std::move(doc));
  // simdjson refuses a few documents Boost.JSON (and Go) accept: integers beyond 64 bits,
  // which both read as doubles. Boost.JSON decides, and gives the precise error when the text
  // is not JSON; an accepted document is re-encoded (big integers as doubles) and parsed again.
  StatusOr<json::value> dom = ParseJson(std::string_view(text, size), limits);
  if (!dom.ok()) return dom.status();
  const std::string again = json::serialize(*dom);
  std::unique_ptr<JsonTape::Document> doc2 = PoolOf<JsonTape::Document>().Take();
  simdjson::dom::parser fallback;
  error = fallback.allocate(std::max<size_t>(again.size(), 4096), limits.max_depth);
  if (!error) error = fallback.parse_into_document(doc2->doc, again.data(), again.size(), true).error();
  if (error) {
    return absl::InvalidArgumentError(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  return std::shared_ptr<JsonTape>(new JsonTape(std::move(doc2)));
}

struct JsonTapeBuilder::Impl {
  JsonLimits limits;
  std::unique_ptr<Input> input;
};

JsonTapeBuilder::JsonTapeBuilder(const JsonLimits& limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
}

JsonTapeBuilder::~JsonTapeBuilder() { Reset(); }

Status JsonTapeBuilder::Write(std::string_view piece) {
  if (!impl_->input) {
    impl_->input = PoolOf<Input>().Take();
    impl_->input->size = 0;
  }
  if (piece.size() > impl_->limits.max_bytes - std::min(impl_->input->size, impl_->limits.max_bytes)) {
    return absl::ResourceExhaustedError("invalid JSON: document is larger than " +
                                        std::to_string(impl_->limits.max_bytes) + " bytes");
  }
  impl_->input->Append(piece);
  return absl::OkStatus();
}

void JsonTapeBuilder::Reset() {
  if (!impl_->input) return;
  if (impl_->input->capacity <= kMaxKeptBytes) {
    PoolOf<Input>().Give(std::move(impl_->input));
  } else {
    impl_->input.reset();
  }
}

StatusOr<std::shared_ptr<JsonTape>> JsonTapeBuilder::Finish(bool keep_text) {
  if (!impl_->input) Write("").IgnoreError();
  auto tape = JsonTape::ParseInto(impl_->input->data.get(), impl_->input->size, impl_->limits, keep_text);
  if (tape.ok() && keep_text) {
    // The input goes back to the pool when the tape dies (with room for simdjson's padding).
    Input* input = impl_->input.release();
    (*tape)->text_ = std::string_view(input->data.get(), input->size);
    (*tape)->text_bytes_ = input->capacity + simdjson::SIMDJSON_PADDING;
    (*tape)->text_owner_ = std::shared_ptr<const void>(input, [](const void* p) {
      std::unique_ptr<Input> back(static_cast<Input*>(const_cast<void*>(p)));
      if (back->capacity <= kMaxKeptBytes) PoolOf<Input>().Give(std::move(back));
    });
  }
  Reset();
  return tape;
}

StatusOr<std::shared_ptr<JsonTape>> JsonTape::Parse(std::string_view text, const JsonLimits& limits) {
  JsonTapeBuilder b(limits);
  LIFEBOAT_RETURN_IF_ERROR(b.Write(text));
  return b.Finish();
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
  // Trivial, so that the array below is not initialized on every call (objects are many).
  struct Member {
    const char* key_data;
    uint32_t key_size;
    uint32_t value;  // the value's index, or UINT32_MAX - i for extra[i]
    std::string_view key() const { return {key_data, key_size}; }
  };
  constexpr size_t kSmall = 32;
  std::array<Member, kSmall> small;
  std::vector<Member> large;
  Member* members = small.data();
  const size_t most = JsonNode(&t, index).size() + extra.size();
  if (most > kSmall) {
    large.resize(most);
    members = large.data();
  }
  size_t n = 0;
  bool sorted = true;
  for (uint32_t k = index + 1; t.tag(k) != '}'; k = t.next(k + 1)) {
    const std::string_view key = t.string(k);
    if (n > 0 && !go_json::KeyLess(members[n - 1].key(), key)) sorted = false;
    members[n++] = Member{key.data(), static_cast<uint32_t>(key.size()), k + 1};
  }
  const size_t own = n;
  uint32_t e = 0;
  for (const JsonExtraMember& x : extra) {
    bool present = false;
    for (size_t i = 0; i < own && !present; ++i) present = members[i].key() == x.key;
    if (!present) {
      members[n++] = Member{x.key.data(), static_cast<uint32_t>(x.key.size()), UINT32_MAX - e};
      sorted = false;
    }
    ++e;
  }
  if (!sorted) {
    // Stable: of repeated keys the one last in the document stays last. Insertion sort for the
    // usual few members (std::stable_sort allocates a buffer).
    auto less = [](const Member& a, const Member& b) { return go_json::KeyLess(a.key(), b.key()); };
    if (n <= kSmall) {
      for (size_t i = 1; i < n; ++i) {
        const Member m = members[i];
        size_t j = i;
        for (; j > 0 && less(m, members[j - 1]); --j) members[j] = members[j - 1];
        members[j] = m;
      }
    } else {
      std::stable_sort(members, members + n, less);
    }
  }
  out.Char('{');
  bool first = true;
  for (size_t i = 0; i < n; ++i) {
    if (i + 1 < n && members[i + 1].key() == members[i].key()) continue;  // a later one wins
    if (!first) out.Char(',');
    first = false;
    if (members[i].value > UINT32_MAX - extra.size()) {
      go_json::GoString(members[i].key(), out);
      out.Char(':');
      go_json::GoString(extra.begin()[UINT32_MAX - members[i].value].value, out);
    } else {
      go_json::GoStringPadded(members[i].key(), out);  // a tape string
      out.Char(':');
      Marshal(t, members[i].value, out, {});
    }
  }
  out.Char('}');
}

void Marshal(const JsonTape& t, uint32_t index, Out& out, std::initializer_list<JsonExtraMember> extra) {
  switch (t.tag(index)) {
    case '{':
      MarshalObject(t, index, out, extra);
      return;
    case '[': {
      out.Char('[');
      for (uint32_t i = index + 1; t.tag(i) != ']'; i = t.next(i)) {
        if (i != index + 1) out.Char(',');
        Marshal(t, i, out, {});
      }
      out.Char(']');
      return;
    }
    case '"':
      // simdjson's string buffer ends with SIMDJSON_PADDING (64) bytes beyond the room its
      // strings can take, so 16 bytes past any string are readable.
      go_json::GoStringPadded(t.string(index), out);
      return;
    case 'l':
      out.Reserve(24);
      out.Commit(std::to_chars(out.cursor(), out.cursor() + 24, NumberAt<int64_t>(t, index)).ptr);
      return;
    case 'u':
      out.Reserve(24);
      out.Commit(std::to_chars(out.cursor(), out.cursor() + 24, NumberAt<uint64_t>(t, index)).ptr);
      return;
    case 'd':
      go_json::GoFloat(NumberAt<double>(t, index), out);
      return;
    case 't':
      out.Append("true");
      return;
    case 'f':
      out.Append("false");
      return;
    default:
      out.Append("null");
      return;
  }
}

}  // namespace

void AppendCanonicalJson(JsonNode node, std::string& out, std::initializer_list<JsonExtraMember> extra) {
  if (!node.valid()) {
    out.append("null");
    return;
  }
  thread_local Out buffer;
  buffer.Clear();
  Marshal(*node.tape(), node.index(), buffer, extra);
  out.append(buffer.view());
  if (buffer.capacity() > (size_t{4} << 20)) buffer = Out();
}

std::string CanonicalJson(JsonNode node, std::initializer_list<JsonExtraMember> extra) {
  std::string out;
  AppendCanonicalJson(node, out, extra);
  return out;
}

}  // namespace lifeboat
