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

// Reads and validates a whole file (IOError naming the file and the problem
// for anything malformed), putting the tensors on `device`. The file is
// memory-mapped copy-on-write, not read: CPU tensors alias the mapping (it
// is unmapped with the last of them), pages load when first touched, and
// changing a tensor never changes the file; tensors for another device are
// copied straight from the mapping. A tensor whose bytes are not aligned to
// its element size is read into memory of its own. Every dtype of the spec
// loads: F64 F32 F16 BF16 I64 I32 U8 BOOL, and as kiln's storage-only dtypes
// I8 I16 U16 U32 U64 F8_E4M3 F8_E5M2 (kiln/core/dtype.h). A program that
// truncates the file in place while tensors from it are alive makes touching
// them fail (SIGBUS); save_safetensors replaces files by rename, which is safe.
SafetensorsContents load_safetensors(const std::string& path, Device device = Device(kCPU));

// The file's bytes, in memory: what save_safetensors writes / load reads.
std::string serialize_safetensors(const StateDict& tensors, const Metadata& metadata = {});
SafetensorsContents deserialize_safetensors(const std::string& bytes, Device device = Device(kCPU),
                                            const std::string& source_name = "<memory>");

}  // namespace kiln::io
