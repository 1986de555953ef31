// Reads a file that may be gzip-compressed, transparently: zlib's gz* API
// passes plain files through unchanged. Every failure throws kiln::IOError
// with the path in the message, so the readers above never see a short read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::data::detail {

class FileReader {
 public:
  explicit FileReader(std::string path);  // throws IOError when it cannot open
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Reads up to n bytes; returns fewer only at the end of the data.
  size_t read(void* dst, size_t n);
  // Reads exactly n bytes or throws IOError "<path>: truncated: <what> ...".
  void read_exact(void* dst, size_t n, const char* what);
  // Reads `n` bytes without allocating them all up front when the file is
  // compressed (a header may claim far more data than the file holds), and
  // throws IOError when fewer arrive.
  std::vector<uint8_t> read_payload(uint64_t n, const std::string& what);
  // Reads what is left, up to `limit` bytes, growing its buffer as data
  // arrives (so the allocation follows the data, not a claim about it).
  std::vector<uint8_t> read_growing(uint64_t limit);
  // True when no byte is left (consumes one byte if there is one).
  bool at_end();
  // True for gzip files (valid after the first read).
  bool compressed() const;
  // Size of the file on disk in bytes (compressed size for .gz).
  uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* gz_ = nullptr;  // gzFile, kept opaque so zlib.h stays out of this header
  uint64_t file_size_ = 0;
};

}  // namespace kiln::data::detail
