// Crash-safe file replacement: write "<path>.tmp.<pid>", fsync it, rename it
// over <path>, fsync the directory. A crash at any point leaves either the
// old file or the complete new one at <path> (and at worst a stray .tmp file,
// which the next save to <path> removes once its writer process is gone).
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace kiln::io::internal {

// Receives the bytes of the file in order.
using ByteSink = std::function<void(const void* data, size_t size)>;

// Calls produce(sink) and commits what it wrote to `path`; on any error the
// temporary file is removed and IOError (naming path and the failing call) is thrown.
void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce);

}  // namespace kiln::io::internal
