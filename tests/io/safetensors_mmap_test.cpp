// safetensors: the storage-only dtypes of the spec (I8, I16, U16, U32, U64,
// F8_E4M3, F8_E5M2) round trip, and load_safetensors maps the file instead
// of reading it (the loaded CPU tensors alias the mapping), or reads it with
// LoadMode::Read; what each guarantees when the file changes under them.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <kiln/io/io.h>
#include <kiln/kiln.h>

namespace kiln {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln_mmap_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The file that /proc/self/maps says holds address p ("" when none).
std::string mapped_file_of(const void* p) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto addr = reinterpret_cast<uintptr_t>(p);
  while (std::getline(maps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) != 2) continue;
    if (addr < lo || addr >= hi) continue;
    const size_t slash = line.find('/');
    return slash == std::string::npos ? std::string() : line.substr(slash);
  }
  return "";
}

// This process's resident memory in bytes.
int64_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return -1;
}

TEST(SafetensorsDtypes, EveryDtypeOfTheSpecRoundTrips) {
  TempDir dir;
  const std::pair<DType, const char*> codes[] = {{kInt8, "I8"},     {kInt16, "I16"},           {kUInt16, "U16"},
                                                 {kUInt32, "U32"},  {kUInt64, "U64"},          {kFloat8_e4m3fn, "F8_E4M3"},
                                                 {kFloat8_e5m2, "F8_E5M2"}};
  StateDict sd;
  for (const auto& [t, code] : codes) sd[code] = tensor({1.0f, 2.0f, 3.0f, 4.0f, -0.0f, 6.0f}).abs().view({2, 3}).to(t);
  sd["strided_u16"] = tensor({1, 2, 3, 4, 5, 6}).view({2, 3}).to(kUInt16).t();
  const std::string path = dir.file("dtypes.safetensors");
  io::save_safetensors(path, sd);
  const std::string bytes = read_all(path);
  for (const auto& [t, code] : codes)
    EXPECT_NE(bytes.find(std::string("\"dtype\":\"") + code + "\""), std::string::npos) << code;
  for (const io::SafetensorsContents& back : {io::load_safetensors(path), io::deserialize_safetensors(bytes)}) {
    ASSERT_EQ(back.tensors.size(), sd.size());
    for (const auto& [name, t] : sd) {
      const Tensor& l = back.tensors.at(name);
      EXPECT_EQ(l.dtype(), t.dtype()) << name;
      EXPECT_EQ(l.sizes(), t.sizes()) << name;
      EXPECT_EQ(l.to(kFloat64).to_vector<double>(), t.to(kFloat64).to_vector<double>()) << name;
    }
  }
  // A value only the wide types hold survives.
  io::save_safetensors(path, {{"big", full({1}, int64_t{1} << 40, kInt64).to(kUInt64)}});
  EXPECT_EQ(io::load_safetensors(path).tensors.at("big").to_vector<uint64_t>()[0], uint64_t{1} << 40);
}

TEST(SafetensorsDtypes, AFloat8FileFromAnotherWriterDecodes) {
  // Written by hand as the spec lays it out: F8_E4M3 bytes 0x38 (1.0), 0xC0 (-2.0), 0x7E (448).
  std::string header = R"({"x":{"dtype":"F8_E4M3","shape":[3],"data_offsets":[0,3]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[static_cast<size_t>(i)] = static_cast<char>(header.size() >> (8 * i));
  file += header;
  file += std::string("\x38\xC0\x7E", 3);
  Tensor x = io::deserialize_safetensors(file).tensors.at("x");
  EXPECT_EQ(x.dtype(), kFloat8_e4m3fn);
  EXPECT_EQ(x.to(kFloat32).to_vector<float>(), (std::vector<float>{1.0f, -2.0f, 448.0f}));
}

TEST(SafetensorsMmap, LoadedTensorsAliasTheMappedFile) {
  TempDir dir;
  const std::string path = dir.file("weights.safetensors");
  io::save_safetensors(path, {{"a", arange(1000).to(kFloat32)}, {"b", ones({16, 16}, kFloat64)}});
  const std::string before = read_all(path);
  Tensor a, b;
  {
    io::SafetensorsContents c = io::load_safetensors(path);
    a = c.tensors.at("a");
    b = c.tensors.at("b");
  }
  EXPECT_EQ(mapped_file_of(a.raw_data_ptr()), path) << "a is read from the mapping, not copied";
  EXPECT_EQ(mapped_file_of(b.raw_data_ptr()), path);
  EXPECT_EQ(a.at<float>({999}), 999.0f);
  // Changing a loaded tensor changes neither the file nor a second load.
  a.mul_(2);
  EXPECT_EQ(a.at<float>({3}), 6.0f);
  EXPECT_EQ(read_all(path), before);
  EXPECT_EQ(io::load_safetensors(path).tensors.at("a").at<float>({3}), 3.0f);
  // The mapping outlives the file's name: kiln's atomic save replaces the file under it.
  io::save_safetensors(path, {{"a", zeros({1000})}, {"b", zeros({16, 16}, kFloat64)}});
  EXPECT_EQ(b.sum().item<double>(), 256.0);
  std::remove(path.c_str());
  EXPECT_EQ(b.sum().item<double>(), 256.0);
}

TEST(SafetensorsMmap, MisalignedTensorsAreReadInstead) {
  TempDir dir;
  const std::string path = dir.file("odd.safetensors");
  // "a" (3 bytes) comes first in name order, so "b" starts 3 bytes into the data.
  io::save_safetensors(path, {{"a", tensor({1, 2, 3}).to(kUInt8)}, {"b", tensor({1.5f, 2.5f})}});
  io::SafetensorsContents c = io::load_safetensors(path);
  EXPECT_EQ(mapped_file_of(c.tensors.at("a").raw_data_ptr()), path);
  EXPECT_NE(mapped_file_of(c.tensors.at("b").raw_data_ptr()), path) << "f32 at an odd address is copied";
  EXPECT_EQ(c.tensors.at("b").to_vector<float>(), (std::vector<float>{1.5f, 2.5f}));
}

TEST(SafetensorsMmap, ALargeFileDoesNotNeedItsSizeInMemoryToLoad) {
  TempDir dir;
  const std::string path = dir.file("large.safetensors");
  const int64_t n = int64_t{16} << 20;  // 64 MiB of float32
  {
    Tensor big = ones({n});
    io::save_safetensors(path, {{"w", big}});
  }
  const int64_t rss0 = rss_bytes();
  io::SafetensorsContents c = io::load_safetensors(path);
  const int64_t rss1 = rss_bytes();
  ASSERT_GT(rss0, 0);
  EXPECT_LT(rss1 - rss0, n * 4 / 4) << "loading read the file into memory: RSS grew by " << (rss1 - rss0) << " bytes";
  EXPECT_EQ(mapped_file_of(c.tensors.at("w").raw_data_ptr()), path);
  // Touching the data reads it in (page cache, shared with the file).
  EXPECT_NEAR(c.tensors.at("w").sum().item<double>(), static_cast<double>(n), 1e-6 * static_cast<double>(n));
}

TEST(SafetensorsMmap, ReplacingTheFileByKilnsSavesLeavesLoadedTensorsAsTheyWere) {
  TempDir dir;
  const std::string path = dir.file("replaced.safetensors");
  kiln::save(arange(4096).to(kFloat32), path);
  Tensor old_tensor;
  kiln::load(old_tensor, path);
  ASSERT_EQ(mapped_file_of(old_tensor.raw_data_ptr()), path);
  // Replaced twice over by rename (kiln::save, then io::save_safetensors), with other sizes.
  kiln::save(full({100}, 7.0f), path);
  io::save_safetensors(path, {{"tensor", zeros({1 << 16})}}, {{"kiln.kind", "tensor"}});
  // Every page of the old tensor, touched for the first time now, holds the old file's bytes.
  EXPECT_EQ(old_tensor.sum().item<double>(), 4095.0 * 4096 / 2);
  EXPECT_EQ(old_tensor.at<float>({4095}), 4095.0f);
  // The mapping is of the old file, which has no name any more.
  EXPECT_NE(mapped_file_of(old_tensor.raw_data_ptr()).find("(deleted)"), std::string::npos)
      << mapped_file_of(old_tensor.raw_data_ptr());
  Tensor new_tensor;
  kiln::load(new_tensor, path);
  EXPECT_EQ(new_tensor.sizes(), (Shape{1 << 16}));
  EXPECT_EQ(new_tensor.abs().sum().item<double>(), 0.0);
}

TEST(SafetensorsMmap, ReadModeOwnsItsMemoryAndSurvivesTheFileBeingTruncated) {
  TempDir dir;
  const std::string path = dir.file("read.safetensors");
  io::save_safetensors(path, {{"a", arange(1000).to(kFloat32)}, {"b", ones({64, 64}, kFloat64)}});
  io::SafetensorsContents c = io::load_safetensors(path, Device(kCPU), io::LoadMode::Read);
  EXPECT_EQ(mapped_file_of(c.tensors.at("a").raw_data_ptr()), "");
  EXPECT_EQ(mapped_file_of(c.tensors.at("b").raw_data_ptr()), "");
  // Another program truncating the file in place cannot reach them.
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  EXPECT_EQ(c.tensors.at("a").sum().item<double>(), 999.0 * 1000 / 2);
  EXPECT_EQ(c.tensors.at("b").sum().item<double>(), 64.0 * 64);
  EXPECT_THROW(io::load_safetensors(path, Device(kCPU), io::LoadMode::Read), IOError) << "the empty file itself";
  EXPECT_THROW(io::load_safetensors(path), IOError);
}

TEST(SafetensorsMmap, BothModesGiveTheSameTensorsAndTheSameErrors) {
  TempDir dir;
  const std::string path = dir.file("modes.safetensors");
  StateDict sd = {{"a", arange(12).to(kFloat32).view({3, 4})}, {"b", tensor({1, 0, 1}).to(kBool)},
                  {"c", zeros({0, 3})}, {"d", tensor({1.5, -2.5})}};
  io::save_safetensors(path, sd, {{"note", "x"}});
  const io::SafetensorsContents m = io::load_safetensors(path), r = io::load_safetensors(path, Device(kCPU), io::LoadMode::Read);
  EXPECT_EQ(m.metadata, r.metadata);
  for (const auto& [name, t] : sd) {
    EXPECT_TRUE(equal(m.tensors.at(name), t)) << name;
    EXPECT_TRUE(equal(r.tensors.at(name), t)) << name;
  }
  // A BOOL byte other than 0 or 1 is refused whichever way the bytes arrive.
  std::string bytes = read_all(path);
  const size_t data = 8 + static_cast<size_t>(static_cast<unsigned char>(bytes[0])) +
                      (static_cast<size_t>(static_cast<unsigned char>(bytes[1])) << 8);
  // "a" (48 bytes) comes first, then "b".
  bytes[data + 48 + 1] = 2;
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }
  for (io::LoadMode mode : {io::LoadMode::Map, io::LoadMode::Read}) {
    try {
      io::load_safetensors(path, Device(kCPU), mode);
      ADD_FAILURE() << "a bool byte of 2 was accepted";
    } catch (const IOError& e) {
      EXPECT_NE(std::string(e.what()).find("byte value 2"), std::string::npos) << e.what();
    }
  }
}

// AddressSanitizer installs its own SIGBUS handler: it reports the fault and
// then aborts (tools/sanitize.sh sets abort_on_error=1) or exits with 1.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUnderAddressSanitizer = true;
#else
constexpr bool kUnderAddressSanitizer = false;
#endif
#else
constexpr bool kUnderAddressSanitizer = false;
#endif

bool died_of_sigbus(int status) {
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) return true;
  if (!kUnderAddressSanitizer) return false;
  return (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) || (WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

// Documents the one unsafe case (kiln/io/safetensors.h): a file truncated
// in place under live mapped tensors. Touching their pages past the new end
// raises SIGBUS, which kiln cannot turn into an exception. The death test
// runs in a fresh process ("threadsafe") so kiln's thread pool is sound there.
TEST(SafetensorsMmapDeathTest, TruncatingAMappedFileInPlaceIsSIGBUS) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir dir;
  const std::string path = dir.file("truncated.safetensors");
  io::save_safetensors(path, {{"w", ones({1 << 20})}});
  EXPECT_EXIT(
      {
        Tensor w = io::load_safetensors(path).tensors.at("w");
        if (::truncate(path.c_str(), 0) != 0) std::_Exit(2);
        std::printf("%f\n", w.sum().item<double>());
        std::_Exit(0);
      },
      died_of_sigbus, "");
}

}  // namespace
}  // namespace kiln
