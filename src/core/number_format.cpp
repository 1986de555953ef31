#include "core/number_format.h"

#include <charconv>
#include <cmath>

#include "core/message_text.h"
#include "kiln/core/error.h"

namespace kiln::detail {

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);  // shortest round-trip form
  return std::string(buf, res.ptr);
}

namespace {
template <class T>
T parse_number(const std::string& text, const std::string& what) {
  T value{};
  const char* end = text.data() + text.size();
  auto res = std::from_chars(text.data(), end, value);
  KILN_CHECK(res.ec == std::errc() && res.ptr == end && !text.empty(), ValueError, "expected a number for \"", what,
             "\", got \"", clip(text), "\"");
  return value;
}
}  // namespace

double parse_double(const std::string& text, const std::string& what) {
  if (text == "nan") return std::nan("");
  if (text == "inf") return INFINITY;
  if (text == "-inf") return -INFINITY;
  return parse_number<double>(text, what);
}
int64_t parse_int(const std::string& text, const std::string& what) { return parse_number<int64_t>(text, what); }
uint64_t parse_uint(const std::string& text, const std::string& what) { return parse_number<uint64_t>(text, what); }

int64_t parse_counter(const std::string& text, const std::string& who, const std::string& key) {
  int64_t value = -1;
  const char* end = text.data() + text.size();
  auto res = std::from_chars(text.data(), end, value);
  KILN_CHECK(!text.empty() && res.ec == std::errc() && res.ptr == end && value >= 0 && value <= kMaxCounter,
             ValueError, who, ": \"", key, "\" must be a whole number in [0, 2^53], got \"", clip(text), "\"");
  return value;
}

}  // namespace kiln::detail
