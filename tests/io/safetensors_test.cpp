// safetensors: round trips, a golden file, every malformed-file rejection,
// atomic replacement, and interoperability with Python's safetensors package.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <kiln/io/io.h>
#include <kiln/kiln.h>

namespace {

using kiln::Tensor;
namespace io = kiln::io;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln_io_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u64_le(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A file from a header text and data bytes (no padding added).
std::string file_from(const std::string& header, const std::string& data) {
  return u64_le(header.size()) + header + data;
}

kiln::StateDict every_dtype() {
  kiln::manual_seed(3);
  kiln::StateDict sd;
  Tensor base = kiln::randn({3, 4}, kiln::kFloat64) * 10.0;
  sd["f64"] = base;
  sd["f32"] = base.to(kiln::kFloat32);
  sd["f16"] = base.to(kiln::kFloat16);
  sd["bf16"] = base.to(kiln::kBFloat16);
  sd["i64"] = base.to(kiln::kInt64);
  sd["i32"] = base.to(kiln::kInt32);
  sd["u8"] = base.abs().to(kiln::kUInt8);
  sd["bool"] = base > 0.0;
  sd["scalar"] = kiln::scalar_tensor(2.5, kiln::kFloat32);
  sd["empty"] = kiln::zeros({0, 3}, kiln::kFloat32);
  return sd;
}

TEST(Safetensors, EveryDtypeRoundTrips) {
  TempDir dir;
  const std::string path = dir.file("all.safetensors");
  kiln::StateDict sd = every_dtype();
  io::save_safetensors(path, sd, {{"epoch", "3"}});
  io::SafetensorsContents back = io::load_safetensors(path);
  ASSERT_EQ(back.tensors.size(), sd.size());
  for (const auto& [name, t] : sd) {
    const Tensor& l = back.tensors.at(name);
    EXPECT_EQ(l.dtype(), t.dtype()) << name;
    EXPECT_EQ(l.sizes(), t.sizes()) << name;
    EXPECT_TRUE(kiln::equal(l, t)) << name;
  }
  EXPECT_EQ(back.metadata.at("epoch"), "3");
  EXPECT_EQ(back.metadata.at("format"), "pt");
}

TEST(Safetensors, NonContiguousTensorsAreWrittenInLogicalOrder) {
  TempDir dir;
  const std::string path = dir.file("nc.safetensors");
  Tensor m = kiln::arange(0, 12, 1, kiln::kFloat32).view({3, 4});
  kiln::StateDict sd{{"t", m.t()}, {"s", m.slice(1, 0, 4, 2)}, {"b", kiln::tensor({1.0f, 2.0f}).expand({3, 2})}};
  ASSERT_FALSE(sd["t"].is_contiguous());
  io::save_safetensors(path, sd);
  auto back = io::load_safetensors(path).tensors;
  for (const auto& [name, t] : sd) {
    EXPECT_TRUE(back.at(name).is_contiguous());
    EXPECT_TRUE(kiln::equal(back.at(name), t)) << name;
  }
  EXPECT_EQ(back.at("t").to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
}

// The bytes of a two-tensor file, spelled out: a = F32 [1, -2], b = U8 [1, 2, 3].
std::string golden_file() {
  std::string header =
      R"({"__metadata__":{"format":"pt","note":"golden"},)"
      R"("a":{"data_offsets":[0,8],"dtype":"F32","shape":[2]},)"
      R"("b":{"data_offsets":[8,11],"dtype":"U8","shape":[3]}})";
  EXPECT_EQ(header.size(), 154u);
  header += std::string(6, ' ');  // padded to 160, a multiple of 8
  const unsigned char data[] = {0x00, 0x00, 0x80, 0x3f,   // 1.0f
                                0x00, 0x00, 0x00, 0xc0,   // -2.0f
                                0x01, 0x02, 0x03};
  const unsigned char len[] = {160, 0, 0, 0, 0, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(len), 8) + header +
         std::string(reinterpret_cast<const char*>(data), sizeof(data));
}

TEST(Safetensors, GoldenFileLoadsAndSavesByteIdentically) {
  TempDir dir;
  const std::string golden = dir.file("golden.safetensors"), again = dir.file("again.safetensors");
  write_bytes(golden, golden_file());
  io::SafetensorsContents c = io::load_safetensors(golden);
  ASSERT_EQ(c.tensors.size(), 2u);
  EXPECT_EQ(c.tensors.at("a").dtype(), kiln::kFloat32);
  EXPECT_EQ(c.tensors.at("a").to_vector<float>(), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(c.tensors.at("b").dtype(), kiln::kUInt8);
  EXPECT_EQ(c.tensors.at("b").to_vector<uint8_t>(), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(c.metadata, (io::Metadata{{"format", "pt"}, {"note", "golden"}}));
  io::save_safetensors(again, c.tensors, c.metadata);
  EXPECT_EQ(read_bytes(again), golden_file());
  EXPECT_EQ(io::serialize_safetensors(c.tensors, {{"note", "golden"}}), golden_file());
}

// Expects loading `bytes` from a file to throw IOError naming the file and containing `problem`.
void expect_rejected(const std::string& bytes, const std::string& problem) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_bytes(path, bytes);
  try {
    io::load_safetensors(path);
    ADD_FAILURE() << "no error for a file that should fail with \"" << problem << "\"";
  } catch (const kiln::IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "expected \"" << problem << "\" in: " << msg;
  }
}

const std::string kF32x2 = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";

TEST(SafetensorsRejects, FileShorterThanTheLengthPrefix) { expect_rejected("abc", "too short"); }

TEST(SafetensorsRejects, HeaderOver100MB) {
  expect_rejected(u64_le(100'000'001) + "{}", "exceeds the limit");
}

TEST(SafetensorsRejects, HeaderLengthPastTheEndOfTheFile) {
  expect_rejected(u64_le(64) + "{}", "overruns the file");
}

TEST(SafetensorsRejects, InvalidJson) { expect_rejected(file_from(R"({"a": [1, 2)", ""), "invalid JSON"); }

TEST(SafetensorsRejects, JsonThatIsNotAnObject) { expect_rejected(file_from("[1,2]", ""), "top level must be an object"); }

TEST(SafetensorsRejects, DuplicateTensorNames) {
  expect_rejected(file_from(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                            R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                            "xy"),
                  "appears twice");
}

TEST(SafetensorsRejects, UnknownDtype) {
  expect_rejected(file_from(R"({"a":{"dtype":"X9","shape":[2],"data_offsets":[0,2]}})", "xy"),
                  "unsupported dtype \"X9\"");
}

TEST(SafetensorsRejects, MissingField) {
  expect_rejected(file_from(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", std::string(8, '\0')),
                  "missing \"shape\"");
}

TEST(SafetensorsRejects, NegativeShape) {
  expect_rejected(file_from(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0')),
                  "non-negative integers");
}

TEST(SafetensorsRejects, OffsetsThatDoNotMatchShapeTimesItemSize) {
  expect_rejected(file_from(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')),
                  "span 8 bytes but shape [3] of F32 needs 12");
}

TEST(SafetensorsRejects, OffsetsThatLeaveAGap) {
  expect_rejected(file_from(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                            R"("b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}})",
                            "12345"),
                  "not contiguous");
}

TEST(SafetensorsRejects, OverlappingOffsets) {
  expect_rejected(file_from(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                            R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})",
                            "123"),
                  "overlaps");
}

TEST(SafetensorsRejects, OffsetsThatDoNotStartAtZero) {
  expect_rejected(file_from(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", "123"), "not contiguous");
}

TEST(SafetensorsRejects, OffsetsPastTheEndOfTheFile) {
  expect_rejected(file_from(kF32x2, std::string(5, '\0')), "overrun the file");
}

TEST(SafetensorsRejects, TruncatedFile) {
  TempDir dir;
  io::save_safetensors(dir.file("ok.safetensors"), every_dtype());
  const std::string full = read_bytes(dir.file("ok.safetensors"));
  expect_rejected(full.substr(0, full.size() - 3), "truncated");
  expect_rejected(full.substr(0, 20), "overruns the file");
}

TEST(SafetensorsRejects, TrailingBytesAfterTheLastTensor) {
  expect_rejected(file_from(kF32x2, std::string(9, '\0')), "after the last tensor");
}

TEST(SafetensorsRejects, NonStringMetadata) {
  expect_rejected(file_from(R"({"__metadata__":{"epoch":3}})", ""), "must be a string");
}

TEST(SafetensorsRejects, BoolBytesOtherThanZeroAndOne) {
  expect_rejected(file_from(R"({"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", std::string("\x01\x07", 2)),
                  "byte value 7");
}

TEST(SafetensorsRejects, MissingFile) {
  EXPECT_THROW(io::load_safetensors("/nonexistent/dir/x.safetensors"), kiln::IOError);
}

TEST(Safetensors, ReservedAndEmptyNamesCannotBeSaved) {
  TempDir dir;
  EXPECT_THROW(io::save_safetensors(dir.file("x"), {{"__metadata__", kiln::zeros({1})}}), kiln::ValueError);
  EXPECT_THROW(io::save_safetensors(dir.file("x"), {{"", kiln::zeros({1})}}), kiln::ValueError);
}

TEST(Safetensors, SaveIntoAMissingDirectoryThrowsIOError) {
  EXPECT_THROW(io::save_safetensors("/nonexistent/dir/x.safetensors", {{"a", kiln::zeros({1})}}), kiln::IOError);
}

TEST(Safetensors, SaveReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  io::save_safetensors(path, {{"w", kiln::zeros({2})}});
  io::save_safetensors(path, {{"w", kiln::ones({2})}});
  EXPECT_EQ(io::load_safetensors(path).tensors.at("w").to_vector<float>(), (std::vector<float>{1, 1}));
  EXPECT_EQ(std::system(("ls '" + path + "'.tmp.* >/dev/null 2>&1").c_str()) == 0, false);
}

// --- Python interoperability (optional: needs python3 with the safetensors package) ---

bool python_safetensors_available() {
  return std::system("python3 -c 'import safetensors' >/dev/null 2>&1") == 0;
}

TEST(SafetensorsPython, FileWrittenByKilnReadsInPythonAndViceVersa) {
  if (!python_safetensors_available())
    GTEST_SKIP() << "python3 with the `safetensors` package is not installed (pip install safetensors to run this)";
  TempDir dir;
  const std::string from_kiln = dir.file("kiln.safetensors"), from_py = dir.file("py.safetensors");
  const std::string script = dir.file("check.py");
  io::save_safetensors(from_kiln,
                       {{"w", kiln::tensor({1.5f, -2.0f, 3.25f}, kiln::kFloat32).view({3, 1})},
                        {"n", kiln::tensor({7, -8}, kiln::kInt64)},
                        {"h", kiln::tensor({0.5f, 1.0f}).to(kiln::kBFloat16)},
                        // the storage-only dtypes: their codes and bytes as safetensors has them
                        {"i8", kiln::tensor({-3, 100}).to(kiln::kInt8)},
                        {"u16", kiln::tensor({65535, 2}).to(kiln::kUInt16)},
                        {"u64", kiln::full({1}, int64_t{1} << 40, kiln::kInt64).to(kiln::kUInt64)},
                        {"f8a", kiln::tensor({1.0f, -2.0f}).to(kiln::kFloat8_e4m3fn)},
                        {"f8b", kiln::tensor({1.0f, 57344.0f}).to(kiln::kFloat8_e5m2)}},
                       {{"who", "kiln"}});
  // The script checks kiln's file with safetensors' own parser (no numpy or
  // torch needed) and writes one back with safetensors' own serializer.
  std::ofstream(script) << R"(import ctypes, struct, sys, json
import safetensors
from safetensors import deserialize, serialize
src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
n = struct.unpack("<Q", data[:8])[0]
assert json.loads(data[8:8 + n])["__metadata__"] == {"format": "pt", "who": "kiln"}
got = {name: info for name, info in deserialize(data)}
assert list(got["w"]["shape"]) == [3, 1], got["w"]
assert struct.unpack("<3f", bytes(got["w"]["data"])) == (1.5, -2.0, 3.25)
assert struct.unpack("<2q", bytes(got["n"]["data"])) == (7, -8)
assert bytes(got["h"]["data"]) == bytes([0x00, 0x3f, 0x80, 0x3f])
codes = {k: str(got[k]["dtype"]).upper() for k in ("i8", "u16", "u64", "f8a", "f8b")}
assert codes == {"i8": "I8", "u16": "U16", "u64": "U64", "f8a": "F8_E4M3", "f8b": "F8_E5M2"} or \
       codes == {"i8": "INT8", "u16": "UINT16", "u64": "UINT64", "f8a": "FLOAT8_E4M3FN", "f8b": "FLOAT8_E5M2"}, codes
assert struct.unpack("<2b", bytes(got["i8"]["data"])) == (-3, 100)
assert struct.unpack("<2H", bytes(got["u16"]["data"])) == (65535, 2)
assert struct.unpack("<Q", bytes(got["u64"]["data"])) == (1 << 40,)
assert bytes(got["f8a"]["data"]) == bytes([0x38, 0xC0]) and bytes(got["f8b"]["data"]) == bytes([0x3C, 0x7B])
keep = []
def spec(dtype, shape, raw):
    # safetensors >= 0.6 takes TensorSpec(data_ptr, data_len); older versions a dict with "data".
    if not hasattr(safetensors, "TensorSpec"):
        return {"dtype": dtype, "shape": shape, "data": raw}
    buf = ctypes.create_string_buffer(raw, len(raw))
    keep.append(buf)
    return safetensors.TensorSpec(dtype=dtype, shape=shape, data_ptr=ctypes.addressof(buf), data_len=len(raw))
out = serialize({"x": spec("float64", [2], struct.pack("<2d", 0.25, -4.0)),
                 "m": spec("bool", [3], bytes([1, 0, 1])),
                 "q": spec("int8", [2], struct.pack("<2b", -128, 7)),
                 "r": spec("uint32", [1], struct.pack("<I", 4000000000)),
                 "s": spec("float8_e5m2", [2], bytes([0x3C, 0xC0]))},
                metadata={"who": "python"})
open(dst, "wb").write(out)
)";
  const std::string cmd = "python3 '" + script + "' '" + from_kiln + "' '" + from_py + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "python could not read kiln's file: " << cmd;
  io::SafetensorsContents c = io::load_safetensors(from_py);
  EXPECT_EQ(c.metadata.at("who"), "python");
  EXPECT_EQ(c.tensors.at("x").to_vector<double>(), (std::vector<double>{0.25, -4.0}));
  EXPECT_EQ(c.tensors.at("m").dtype(), kiln::kBool);
  EXPECT_EQ(c.tensors.at("m").to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(c.tensors.at("q").dtype(), kiln::kInt8);
  EXPECT_EQ(c.tensors.at("q").to_vector<int8_t>(), (std::vector<int8_t>{-128, 7}));
  EXPECT_EQ(c.tensors.at("r").to_vector<uint32_t>(), (std::vector<uint32_t>{4000000000u}));
  EXPECT_EQ(c.tensors.at("s").dtype(), kiln::kFloat8_e5m2);
  EXPECT_EQ(c.tensors.at("s").to(kiln::kFloat32).to_vector<float>(), (std::vector<float>{1.0f, -2.0f}));
}

}  // namespace
