#include "data/file_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include "kiln/core/error.h"

namespace kiln::data::detail {
namespace {
gzFile as_gz(void* p) { return static_cast<gzFile>(p); }

// zlib's message, without the "<path>: " it puts in front.
std::string gz_message(gzFile f, const std::string& path, int* errnum) {
  std::string msg = gzerror(f, errnum);
  const std::string prefix = path + ": ";
  if (msg.compare(0, prefix.size(), prefix) == 0) msg.erase(0, prefix.size());
  return msg;
}
}  // namespace

FileReader::FileReader(std::string path) : path_(std::move(path)) {
  struct stat st {};
  KILN_CHECK(::stat(path_.c_str(), &st) == 0, IOError, path_, ": cannot open: ", std::strerror(errno));
  KILN_CHECK(S_ISREG(st.st_mode), IOError, path_, ": not a regular file");
  file_size_ = static_cast<uint64_t>(st.st_size);
  gzFile f = gzopen(path_.c_str(), "rb");
  KILN_CHECK(f != nullptr, IOError, path_, ": cannot open: ", errno ? std::strerror(errno) : "out of memory");
  gzbuffer(f, 256 * 1024);  // fewer syscalls and inflate calls than the 8 KiB default
  gz_ = f;
}

FileReader::~FileReader() {
  if (gz_) gzclose(as_gz(gz_));
}

size_t FileReader::read(void* dst, size_t n) {
  size_t done = 0;
  auto* out = static_cast<unsigned char*>(dst);
  while (done < n) {
    // gzread takes an unsigned int length; read in 1 GiB pieces.
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, size_t(1) << 30));
    int got = gzread(as_gz(gz_), out + done, chunk);
    if (got < 0) {
      int errnum = Z_OK;
      const std::string msg = gz_message(as_gz(gz_), path_, &errnum);
      throw IOError(kiln::detail::str_cat(path_, ": ", errnum == Z_ERRNO ? std::string(std::strerror(errno))
                                                                          : "gzip error: " + msg));
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  if (done < n) {
    // A short read is either the real end of data or a damaged gzip stream
    // (zlib reports "unexpected end of file" for a cut-off member).
    int errnum = Z_OK;
    const std::string msg = gz_message(as_gz(gz_), path_, &errnum);
    KILN_CHECK(errnum == Z_OK || errnum == Z_STREAM_END, IOError, path_, ": gzip error: ", msg);
  }
  return done;
}

void FileReader::read_exact(void* dst, size_t n, const char* what) {
  size_t got = read(dst, n);
  KILN_CHECK(got == n, IOError, path_, ": truncated: ", what, " needs ", n, " bytes but only ", got,
             " are left");
}

std::vector<uint8_t> FileReader::read_payload(uint64_t n, const std::string& what) {
  if (!compressed() && n > file_size_) {
    // A plain file cannot hold more than its size: refuse before allocating.
    throw IOError(kiln::detail::str_cat(path_, ": truncated: ", what, " needs ", n, " bytes but the file is only ",
                                        file_size_, " bytes long"));
  }
  if (!compressed()) {
    // The size check above makes the claim trustworthy: read it in one go.
    std::vector<uint8_t> out(static_cast<size_t>(n));
    const size_t got = read(out.data(), out.size());
    if (got < n)
      throw IOError(kiln::detail::str_cat(path_, ": truncated: ", what, " needs ", n, " bytes but only ", got,
                                          " are present (the file shrank while being read)"));
    return out;
  }
  // Compressed: the claim is unchecked until the data arrives (33 bytes of
  // gzip may claim 2^48), so the buffer only grows as data actually comes.
  std::vector<uint8_t> out = read_growing(n);
  if (out.size() < n)
    throw IOError(kiln::detail::str_cat(path_, ": truncated: ", what, " needs ", n, " bytes but only ", out.size(),
                                        " are present"));
  return out;
}

std::vector<uint8_t> FileReader::read_growing(uint64_t limit) {
  // Start small and double when full: at most about twice the data present
  // is allocated, never what a header claims.
  constexpr uint64_t kFirst = uint64_t(64) << 10;
  std::vector<uint8_t> out;
  uint64_t have = 0;
  while (have < limit) {
    const uint64_t want = std::min<uint64_t>(limit, std::max<uint64_t>(have * 2, kFirst));
    out.resize(static_cast<size_t>(want));
    const size_t got = read(out.data() + have, static_cast<size_t>(want - have));
    have += got;
    if (have < want) break;
  }
  out.resize(static_cast<size_t>(have));
  return out;
}

bool FileReader::at_end() {
  unsigned char b;
  return read(&b, 1) == 0;
}

bool FileReader::compressed() const { return gzdirect(as_gz(gz_)) == 0; }

}  // namespace kiln::data::detail
