// safetensors from bytes in memory and from a file. What loads is used (every
// tensor summed) and, from bytes, must survive a save/load round trip
// unchanged: the writer and the reader agree on everything the reader accepts.
// From a file, the mapped and the read load must agree.
#include <kiln/io/io.h>
#include <kiln/kiln.h>

#include <cstring>

#include "harness.h"

namespace kiln::fuzz {

namespace {

void use(const io::SafetensorsContents& c) {
  for (const auto& [name, t] : c.tensors) {
    if (!t.is_contiguous() || t.device() != Device(kCPU))
      property_failed("safetensors", "tensor \"" + name + "\" was loaded non-contiguous or off the CPU");
    // Converting reads every element (and checks the bool bytes really are 0/1).
    t.to(kFloat64).sum().item<double>();
  }
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  const size_t n = static_cast<size_t>(a.numel()) * a.element_size();
  return n == 0 || std::memcmp(a.raw_data_ptr(), b.raw_data_ptr(), n) == 0;
}

void round_trip(const io::SafetensorsContents& c) {
  std::string again;
  // Names the reader accepts but the writer refuses (an empty name) are a clean error.
  if (accepts([&] { again = io::serialize_safetensors(c.tensors, c.metadata); }) == Outcome::kRejected) return;
  io::SafetensorsContents back;
  try {
    back = io::deserialize_safetensors(again, Device(kCPU), "round trip");
  } catch (const kiln::Error& e) {
    property_failed("safetensors_bytes", std::string("a re-saved file does not load: ") + e.what());
  }
  io::Metadata expected = c.metadata;
  expected.emplace("format", "pt");  // the writer adds it when the file had none
  if (back.metadata != expected) property_failed("safetensors_bytes", "metadata changed in a round trip");
  if (back.tensors.size() != c.tensors.size()) property_failed("safetensors_bytes", "tensors lost in a round trip");
  for (const auto& [name, t] : c.tensors) {
    auto it = back.tensors.find(name);
    if (it == back.tensors.end() || !same_bytes(t, it->second))
      property_failed("safetensors_bytes", "tensor \"" + name + "\" changed in a round trip");
  }
}

}  // namespace

Outcome run_safetensors_bytes(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  io::SafetensorsContents c;
  const Outcome o = accepts([&] { c = io::deserialize_safetensors(bytes, Device(kCPU), "fuzz input"); });
  if (o == Outcome::kAccepted) {
    use(c);
    round_trip(c);
  }
  return o;
}

// From a file both ways: mapped (the default) and read (LoadMode::Read).
// They accept the same files and give the same bytes.
Outcome run_safetensors_file(const uint8_t* data, size_t size) {
  const std::string path = write_scratch("input.safetensors", data, size);
  io::SafetensorsContents mapped, read;
  const Outcome o = accepts([&] { mapped = io::load_safetensors(path); });
  const Outcome r = accepts([&] { read = io::load_safetensors(path, Device(kCPU), io::LoadMode::Read); });
  if (o != r) property_failed("safetensors_file", "the mapped and the read load disagree on accepting the file");
  if (o != Outcome::kAccepted) return o;
  use(mapped);
  if (mapped.metadata != read.metadata || mapped.tensors.size() != read.tensors.size())
    property_failed("safetensors_file", "the mapped and the read load give different contents");
  for (const auto& [name, t] : mapped.tensors) {
    auto it = read.tensors.find(name);
    if (it == read.tensors.end() || !same_bytes(t, it->second))
      property_failed("safetensors_file", "tensor \"" + name + "\" differs between the mapped and the read load");
  }
  return o;
}

}  // namespace kiln::fuzz
