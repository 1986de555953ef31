#include "io/atomic_file.h"

#include <dirent.h>
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

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Removes "<path>.tmp.<pid>" files left by saves that were killed before
// their rename, when process <pid> no longer exists (kill(pid, 0) fails with
// ESRCH). A live writer's file, or one whose pid cannot be read, stays. Best
// effort: a failure here must not fail the save. The pid check assumes the
// writers share this machine's pid space, as processes saving to one local
// checkpoint directory do.
void remove_stale_temporaries(const std::string& path) {
  const std::string dir = directory_of(path);
  const std::string prefix = base_name(path) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  const pid_t self = ::getpid();
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::strtol(digits.c_str(), nullptr, 10);
    if (pid <= 0 || pid == self) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    ::unlinkat(::dirfd(d), name.c_str(), 0);
  }
  ::closedir(d);
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce) {
  KILN_CHECK(!path.empty(), IOError, "save: empty file name");
  remove_stale_temporaries(path);
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  KILN_CHECK(fd >= 0, IOError, "save: cannot create ", tmp, " (for ", path, "): ", errno_text());
  try {
    produce([&](const void* data, size_t size) { write_all(fd, data, size, tmp); });
    KILN_CHECK(::fsync(fd) == 0, IOError, "save: fsync of ", tmp, " failed: ", errno_text());
    const int rc = ::close(fd);
    fd = -1;
    KILN_CHECK(rc == 0, IOError, "save: closing ", tmp, " failed: ", errno_text());
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
