#pragma once

// Go's encoding/json output pieces, shared by CanonicalJson over a DOM (json.cc) and over a
// tape (json_tape.cc). Internal to the common module.

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>

namespace lifeboat::go_json {

// The encoders' output: a growable buffer written through a raw cursor. Callers Reserve the
// most bytes a piece can take and then write without a capacity check per byte (the checks and
// growth path of std::string::push_back were a third of CanonicalJson's time). Never
// zero-filled.
class Out {
 public:
  void Reserve(size_t n) {
    if (n > cap_ - len_) Grow(n);
  }
  char* cursor() { return data_.get() + len_; }
  void Commit(char* end) { len_ = static_cast<size_t>(end - data_.get()); }
  void Char(char c) {
    Reserve(1);
    data_[len_++] = c;
  }
  void Append(std::string_view s) {
    Reserve(s.size());
    std::memcpy(data_.get() + len_, s.data(), s.size());
    len_ += s.size();
  }
  std::string_view view() const { return {data_.get(), len_}; }
  size_t capacity() const { return cap_; }
  void Clear() { len_ = 0; }

 private:
  void Grow(size_t n) {
    const size_t cap = std::max(len_ + n, std::max<size_t>(2 * cap_, 256));
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (len_ > 0) std::memcpy(bigger.get(), data_.get(), len_);
    data_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> data_;
  size_t len_ = 0;
  size_t cap_ = 0;
};

// Writes Go's encoding of `s` (escapeHTML on, as json.Marshal).
void GoString(std::string_view s, Out& out);
// The same for a string followed by at least 16 readable bytes (a JsonTape's strings).
void GoStringPadded(std::string_view s, Out& out);
// Go's float64 encoding.
void GoFloat(double f, Out& out);

// Byte order (Go sorts a map's keys as byte strings); most keys differ in their first byte.
inline bool KeyLess(std::string_view a, std::string_view b) {
  if (!a.empty() && !b.empty() && a[0] != b[0]) {
    return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]);
  }
  return a < b;
}

}  // namespace lifeboat::go_json
