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
// for anything malformed), putting the tensors on `device`.
SafetensorsContents load_safetensors(const std::string& path, Device device = Device(kCPU));

// The file's bytes, in memory: what save_safetensors writes / load reads.
std::string serialize_safetensors(const StateDict& tensors, const Metadata& metadata = {});
SafetensorsContents deserialize_safetensors(const std::string& bytes, Device device = Device(kCPU),
                                            const std::string& source_name = "<memory>");

}  // namespace kiln::io
