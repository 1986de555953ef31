// Text from a file or a user that goes into an error message is clipped: a
// 100 MB tensor name or metadata value must not become a 100 MB message.
#pragma once
#include <cstddef>
#include <string>

namespace kiln::detail {

constexpr size_t kMaxMessageValue = 200;

// `text` itself when short, else its start, "...", and its length in bytes.
inline std::string clip(const std::string& text, size_t max = kMaxMessageValue) {
  if (text.size() <= max) return text;
  return text.substr(0, max) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace kiln::detail
