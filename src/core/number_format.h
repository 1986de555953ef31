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

}  // namespace kiln::detail
