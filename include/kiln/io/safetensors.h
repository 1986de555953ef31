// safetensors files (https://github.com/huggingface/safetensors), the format
// PyTorch and Hugging Face tools read:
//   8 bytes   little-endian u64 N, the header length
//   N bytes   JSON: {"__metadata__": {str: str}, name: {"dtype": "F32",
//             "shape": [..], "data_offsets": [begin, end]}, ...}, padded with
//             spaces to a multiple of 8 bytes
//   the rest  tensor data, little-endian, row-major, contiguous; offsets are
//             relative to the end of the header and tile it without gaps.
// kiln writes tensors in sorted name order and "format": "pt" in the metadata.
#pragma once
#include <map>
#include <string>

#include "kiln/core/device.h"
#include "kiln/core/state_dict.h"

namespace kiln::io {

using Metadata = std::map<std::string, std::string>;

struct SafetensorsContents {
  StateDict tensors;
  Metadata metadata;  // includes "format"
};

// Writes atomically: the data goes to "<path>.tmp.<pid>", is fsync'ed, renamed
// over `path`, and the directory is fsync'ed, so a crash at any point leaves
// either the previous file or the new one. Tensors may be on any device and
// strided. Throws IOError (naming the file) on failure, ValueError on bad names.
// A "<path>.tmp.<pid>" left by a save that was killed, whose process <pid> is
// gone, is removed by the next save to `path`.
void save_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata = {});

// How load_safetensors gets the tensor bytes.
//   Map   (the default) maps the file copy-on-write (mmap MAP_PRIVATE): CPU
//         tensors alias the mapping (it is unmapped with the last of them),
//         so loading needs no second copy of the file in memory and pages
//         load when first touched; writing to a tensor copies the pages it
//         writes and never changes the file. Tensors for another device are
//         copied there straight from the mapping and hold nothing of it. A
//         tensor whose bytes are not aligned to its element size is read
//         into memory of its own. A file that cannot be mapped is read.
//   Read  reads every tensor into memory of its own (pread), as kiln did
//         before mapping: the tensors never depend on the file again.
// What kiln guarantees for a mapped load: a file replaced by rename (as
// every kiln save does: save_safetensors, kiln::save, save_checkpoint) leaves
// the tensors already loaded from it as they were, since the mapping holds
// the old file. A file changed in place by another program while mapped
// tensors from it are alive is not safe: truncating it makes touching the
// pages past its new end kill the process with SIGBUS (kiln cannot turn
// that into an exception), and overwriting it shows the new bytes in pages
// the tensor has not written yet (Linux's MAP_PRIVATE). Use Read for files
// that others may rewrite in place, or copy (clone()) the tensors you keep.
enum class LoadMode { Map, Read };

// Reads and validates a whole file (IOError naming the file and the problem
// for anything malformed), putting the tensors on `device`. Every dtype of
// the spec loads: F64 F32 F16 BF16 I64 I32 U8 BOOL, and as kiln's
// storage-only dtypes I8 I16 U16 U32 U64 F8_E4M3 F8_E5M2 (kiln/core/dtype.h).
SafetensorsContents load_safetensors(const std::string& path, Device device = Device(kCPU),
                                     LoadMode mode = LoadMode::Map);

// The file's bytes, in memory: what save_safetensors writes / load reads.
std::string serialize_safetensors(const StateDict& tensors, const Metadata& metadata = {});
SafetensorsContents deserialize_safetensors(const std::string& bytes, Device device = Device(kCPU),
                                            const std::string& source_name = "<memory>");

}  // namespace kiln::io
