#include "kiln/core/error.h"

namespace kiln::detail {

void throw_internal(const char* cond, const char* file, int line, const std::string& msg) {
  throw InternalError(str_cat("kiln internal error (a library bug, please report): ", msg, " [", cond, " at ",
                              file, ":", line, "]"));
}

}  // namespace kiln::detail
