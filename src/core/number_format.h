// Numbers as metadata strings (safetensors metadata holds strings only):
// doubles in their shortest exact form, parsed back strictly.
#pragma once
#include <cstdint>
#include <string>

namespace kiln::detail {

// The shortest text that parses back to exactly `v` ("0.1", "1e-08", "inf").
std::string format_double(double v);
// Throw ValueError naming `what` unless the whole of `text` is a number.
double parse_double(const std::string& text, const std::string& what);
int64_t parse_int(const std::string& text, const std::string& what);
uint64_t parse_uint(const std::string& text, const std::string& what);

// A restored counter (a step, an epoch) is trusted by the code that increments
// it, so it must be a whole number in [0, kMaxCounter]: no run gets near 2^53,
// it converts to double exactly, and incrementing it cannot overflow.
constexpr int64_t kMaxCounter = int64_t(1) << 53;
// Throws ValueError "<who>: "<key>" must be a whole number in [0, 2^53], got ..." otherwise.
int64_t parse_counter(const std::string& text, const std::string& who, const std::string& key);

}  // namespace kiln::detail
