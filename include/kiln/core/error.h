// kiln::Error and its subclasses: every misuse of the library throws one of
// these with a message that starts with the op and shows actual vs expected.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace kiln {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
class ShapeError : public Error { public: using Error::Error; };
class DTypeError : public Error { public: using Error::Error; };
class DeviceError : public Error { public: using Error::Error; };
class ValueError : public Error { public: using Error::Error; };
class IndexError : public Error { public: using Error::Error; };
class IOError : public Error { public: using Error::Error; };
class AutogradError : public Error { public: using Error::Error; };
class CudaError : public Error { public: using Error::Error; };
class NcclError : public Error { public: using Error::Error; };
class InternalError : public Error { public: using Error::Error; };

namespace detail {
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
[[noreturn]] void throw_internal(const char* cond, const char* file, int line, const std::string& msg);
}  // namespace detail

}  // namespace kiln

// KILN_CHECK(cond, ErrorType, message parts...): throws ErrorType(message) when
// cond is false. Used for user input; the message names op, shapes, dtypes.
#define KILN_CHECK(cond, ErrorType, ...)                               \
  do {                                                                 \
    if (!(cond)) throw ErrorType(::kiln::detail::str_cat(__VA_ARGS__)); \
  } while (0)

// KILN_INTERNAL_ASSERT(cond, message parts...): a library bug, never user error.
#define KILN_INTERNAL_ASSERT(cond, ...)                                              \
  do {                                                                               \
    if (!(cond))                                                                     \
      ::kiln::detail::throw_internal(#cond, __FILE__, __LINE__,                      \
                                     ::kiln::detail::str_cat(__VA_ARGS__));                       \
  } while (0)
