#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kiln/core/error.h"

namespace kiln::io::internal {

namespace {

std::string errno_text() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void write_all(int fd, const void* data, size_t size, const std::string& tmp) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    KILN_CHECK(n > 0, IOError, "save: writing ", tmp, " failed: ", n < 0 ? errno_text() : "no progress");
    p += n;
    size -= static_cast<size_t>(n);
  }
}

// Test-only: see KILN_TEST_CRASH_BEFORE_RENAME in kiln/io/safetensors.h.
void maybe_crash_before_rename() {
  const char* v = std::getenv("KILN_TEST_CRASH_BEFORE_RENAME");
  if (v != nullptr && std::strcmp(v, "1") == 0) ::kill(::getpid(), SIGKILL);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce) {
  KILN_CHECK(!path.empty(), IOError, "save: empty file name");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  KILN_CHECK(fd >= 0, IOError, "save: cannot create ", tmp, " (for ", path, "): ", errno_text());
  try {
    produce([&](const void* data, size_t size) { write_all(fd, data, size, tmp); });
    KILN_CHECK(::fsync(fd) == 0, IOError, "save: fsync of ", tmp, " failed: ", errno_text());
    const int rc = ::close(fd);
    fd = -1;
    KILN_CHECK(rc == 0, IOError, "save: closing ", tmp, " failed: ", errno_text());
    maybe_crash_before_rename();
    KILN_CHECK(::rename(tmp.c_str(), path.c_str()) == 0, IOError, "save: renaming ", tmp, " to ", path,
               " failed: ", errno_text());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable.
  const std::string dir = directory_of(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  KILN_CHECK(dfd >= 0, IOError, "save: wrote ", path, " but cannot open its directory ", dir, " to fsync it: ",
             errno_text());
  const int rc = ::fsync(dfd);
  const std::string err = rc == 0 ? "" : errno_text();
  ::close(dfd);
  KILN_CHECK(rc == 0, IOError, "save: wrote ", path, " but fsync of its directory ", dir, " failed: ", err);
}

}  // namespace kiln::io::internal
