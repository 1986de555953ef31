#include "harness.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace kiln::fuzz {

const std::vector<Harness>& all_harnesses() {
  static const std::vector<Harness> table = {
      {"idx", "read_idx / read_idx_images / read_idx_labels on one IDX file (plain or gzip)", run_idx},
      {"mnist", "the MNIST dataset over an image file and a label file (4-byte length, images, labels)", run_mnist},
      {"cifar", "the CIFAR-10 dataset (test split) over one batch file", run_cifar},
      {"safetensors_bytes", "deserialize_safetensors on bytes in memory, then a save/load round trip",
       run_safetensors_bytes},
      {"safetensors_file", "load_safetensors on a file", run_safetensors_file},
      {"checkpoint", "load_checkpoint, then resume a model, optimizer, scheduler, RNG and data loader",
       run_checkpoint},
  };
  return table;
}

const Harness& harness_named(const std::string& name) {
  for (const Harness& h : all_harnesses())
    if (name == h.name) return h;
  throw std::invalid_argument("no fuzz harness named \"" + name + "\"");
}

namespace {
struct ScratchDir {
  std::string path;
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/kiln_fuzz_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("fuzz: cannot create a scratch directory");
    path = tmpl;
  }
  ~ScratchDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};
}  // namespace

const std::string& scratch_dir() {
  static ScratchDir dir;
  return dir.path;
}

std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) throw std::runtime_error("fuzz: cannot write " + path);
  return path;
}

void property_failed(const char* harness, const std::string& what) {
  throw std::logic_error(std::string("fuzz harness ") + harness + ": " + what);
}

}  // namespace kiln::fuzz
