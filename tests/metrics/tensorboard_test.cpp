// TensorBoardWriter: the file it writes is decoded here record by record
// (TFRecord framing and both masked CRC-32Cs, then the Event / Summary
// protobuf fields), and, where the `tensorboard` Python package is
// installed, read by TensorBoard's own EventAccumulator.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "metrics/tfrecord.h"

using namespace kiln;
namespace tfr = kiln::metrics::tfrecord;

namespace {

// --- a minimal protobuf wire decoder -------------------------------------------------
struct Field {
  int number = 0, wire = 0;
  uint64_t varint = 0;
  std::string bytes;  // wire 1/5: the raw 8/4 bytes; wire 2: the payload
  double as_double() const {
    double d;
    EXPECT_EQ(bytes.size(), 8u);
    std::memcpy(&d, bytes.data(), 8);
    return d;
  }
  float as_float() const {
    float f;
    EXPECT_EQ(bytes.size(), 4u);
    std::memcpy(&f, bytes.data(), 4);
    return f;
  }
};

uint64_t read_varint(const std::string& s, size_t& i) {
  uint64_t v = 0;
  for (int shift = 0; i < s.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(s[i++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  ADD_FAILURE() << "truncated varint";
  return v;
}

std::vector<Field> decode(const std::string& msg) {
  std::vector<Field> out;
  size_t i = 0;
  while (i < msg.size()) {
    Field f;
    const uint64_t key = read_varint(msg, i);
    f.number = static_cast<int>(key >> 3);
    f.wire = static_cast<int>(key & 7);
    if (f.wire == 0) {
      f.varint = read_varint(msg, i);
    } else if (f.wire == 1 || f.wire == 5) {
      const size_t n = f.wire == 1 ? 8 : 4;
      EXPECT_LE(i + n, msg.size());
      f.bytes = msg.substr(i, n);
      i += n;
    } else if (f.wire == 2) {
      const uint64_t n = read_varint(msg, i);
      EXPECT_LE(i + n, msg.size());
      f.bytes = msg.substr(i, n);
      i += n;
    } else {
      ADD_FAILURE() << "unexpected wire type " << f.wire;
      break;
    }
    out.push_back(f);
  }
  return out;
}

const Field* find(const std::vector<Field>& fields, int number) {
  for (const Field& f : fields)
    if (f.number == number) return &f;
  return nullptr;
}

uint32_t le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v |= static_cast<uint32_t>(static_cast<unsigned char>(s[at + k])) << (8 * k);
  return v;
}

// Splits a file into records, checking both CRCs of each.
std::vector<std::string> read_records(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  size_t i = 0;
  while (i < s.size()) {
    EXPECT_LE(i + 12, s.size()) << "truncated header at " << i;
    uint64_t len = 0;
    for (int k = 0; k < 8; ++k) len |= static_cast<uint64_t>(static_cast<unsigned char>(s[i + k])) << (8 * k);
    EXPECT_EQ(le32(s, i + 8), tfr::masked_crc32c(s.data() + i, 8)) << "length CRC of record " << records.size();
    EXPECT_LE(i + 12 + len + 4, s.size());
    const std::string data = s.substr(i + 12, len);
    EXPECT_EQ(le32(s, i + 12 + len), tfr::masked_crc32c(data.data(), data.size())) << "data CRC of record "
                                                                                   << records.size();
    records.push_back(data);
    i += 12 + len + 4;
  }
  return records;
}

// The one Summary.Value of an Event record, and the event's step.
struct Value {
  int64_t step = 0;
  double wall_time = 0;
  std::vector<Field> fields;
};
Value value_of(const std::string& record) {
  const std::vector<Field> event = decode(record);
  Value v;
  const Field* wall = find(event, 1);
  if (wall) v.wall_time = wall->as_double();
  const Field* step = find(event, 2);
  if (step) v.step = static_cast<int64_t>(step->varint);
  const Field* summary = find(event, 5);
  EXPECT_NE(summary, nullptr);
  if (!summary) return v;
  const std::vector<Field> s = decode(summary->bytes);
  EXPECT_EQ(s.size(), 1u);
  v.fields = decode(s.at(0).bytes);
  return v;
}

std::vector<double> packed_doubles(const std::string& b) {
  std::vector<double> out(b.size() / 8);
  std::memcpy(out.data(), b.data(), out.size() * 8);
  return out;
}

std::string temp_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "/" + name;
  std::filesystem::remove_all(d);
  return d;
}

std::string write_sample_run(const std::string& dir) {
  metrics::TensorBoardWriter tb(dir);
  for (int step = 0; step < 3; ++step) tb.add_scalar("train/loss", 1.0 / (step + 1), step);
  tb.add_histogram("weights/fc", tensor(std::vector<float>{-1, 0, 0.5f, 2, 2}, {5}), 7, 3);
  tb.add_histogram("grad/bad", tensor(std::vector<double>{1, NAN, 3}, {3}), 8, 2);
  tb.add_text("guard", "step 50 **skip**: the loss is nan", 9);
  return tb.path();
}

}  // namespace

TEST(TFRecord, Crc32cOfTheStandardCheckString) {
  // The CRC-32C check value (RFC 3720, appendix B.4).
  EXPECT_EQ(tfr::crc32c("123456789", 9), 0xe3069283u);
  EXPECT_EQ(tfr::crc32c("", 0), 0u);
  const uint32_t c = tfr::crc32c("abc", 3);
  EXPECT_EQ(tfr::masked_crc32c("abc", 3), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}

TEST(TFRecord, FrameIsLengthCrcDataCrc) {
  const std::string r = tfr::frame("hello");
  ASSERT_EQ(r.size(), 8u + 4 + 5 + 4);
  EXPECT_EQ(static_cast<unsigned char>(r[0]), 5);
  for (int k = 1; k < 8; ++k) EXPECT_EQ(r[k], 0);
  EXPECT_EQ(r.substr(12, 5), "hello");
}

TEST(TensorBoardWriter, RecordsDecodeToTheEventsWritten) {
  const std::string dir = temp_dir("kiln_tb_decode");
  const std::string path = write_sample_run(dir);
  EXPECT_NE(path.find("events.out.tfevents."), std::string::npos);
  const std::vector<std::string> records = read_records(path);
  // file_version, 3 scalars, 2 histograms, the nonfinite count, text.
  ASSERT_EQ(records.size(), 8u);

  const std::vector<Field> first = decode(records[0]);
  ASSERT_NE(find(first, 3), nullptr);
  EXPECT_EQ(find(first, 3)->bytes, "brain.Event:2");
  EXPECT_GT(find(first, 1)->as_double(), 1.6e9) << "wall_time in Unix seconds";

  for (int step = 0; step < 3; ++step) {
    const Value v = value_of(records[1 + step]);
    EXPECT_EQ(v.step, step);
    EXPECT_EQ(find(v.fields, 1)->bytes, "train/loss");
    EXPECT_FLOAT_EQ(find(v.fields, 2)->as_float(), 1.0f / (step + 1));
  }

  const Value h = value_of(records[4]);
  EXPECT_EQ(h.step, 7);
  EXPECT_EQ(find(h.fields, 1)->bytes, "weights/fc");
  const std::vector<Field> histo = decode(find(h.fields, 5)->bytes);
  EXPECT_EQ(find(histo, 1)->as_double(), -1.0);  // min
  EXPECT_EQ(find(histo, 2)->as_double(), 2.0);   // max
  EXPECT_EQ(find(histo, 3)->as_double(), 5.0);   // num
  EXPECT_EQ(find(histo, 4)->as_double(), 3.5);   // sum
  EXPECT_EQ(find(histo, 5)->as_double(), 9.25);  // sum of squares
  EXPECT_EQ(packed_doubles(find(histo, 6)->bytes), (std::vector<double>{0, 1, 2}));  // right edges
  EXPECT_EQ(packed_doubles(find(histo, 7)->bytes), (std::vector<double>{2, 1, 2}));  // (-inf,0] (0,1] (1,2]

  const Value bad = value_of(records[5]);
  EXPECT_EQ(find(decode(find(bad.fields, 5)->bytes), 3)->as_double(), 2.0) << "the NaN is not bucketed";
  const Value bad_count = value_of(records[6]);
  EXPECT_EQ(find(bad_count.fields, 1)->bytes, "grad/bad/nonfinite");
  EXPECT_EQ(find(bad_count.fields, 2)->as_float(), 1.0f);

  const Value t = value_of(records[7]);
  EXPECT_EQ(t.step, 9);
  EXPECT_EQ(find(t.fields, 1)->bytes, "guard");
  const std::vector<Field> tensor_proto = decode(find(t.fields, 8)->bytes);
  EXPECT_EQ(find(tensor_proto, 1)->varint, 7u) << "DT_STRING";
  EXPECT_EQ(find(tensor_proto, 8)->bytes, "step 50 **skip**: the loss is nan");
  const std::vector<Field> plugin = decode(find(decode(find(t.fields, 9)->bytes), 1)->bytes);
  EXPECT_EQ(find(plugin, 1)->bytes, "text");
  std::filesystem::remove_all(dir);
}

TEST(TensorBoardWriter, BadDirectoryIsAnIOError) {
  const std::string file = ::testing::TempDir() + "/kiln_tb_not_a_dir";
  std::ofstream(file) << "x";
  EXPECT_THROW(metrics::TensorBoardWriter(file + "/sub"), IOError);
  std::filesystem::remove(file);
}

// TensorBoard itself reads the file (its EventAccumulator checks the CRCs
// and parses the protobufs with the real message definitions). The Python
// is $KILN_PYTHON or python3; the test skips when it has no tensorboard.
TEST(TensorBoardWriter, TensorBoardReadsTheFile) {
  const char* env = std::getenv("KILN_PYTHON");
  const std::string python = env && *env ? env : "python3";
  if (std::system((python + " -c 'import tensorboard' > /dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "the tensorboard Python package is not installed for " << python
                 << " (set KILN_PYTHON to a Python that has it)";
  const std::string dir = temp_dir("kiln_tb_python");
  write_sample_run(dir);
  const std::string script = dir + "/read.py", out = dir + "/out.txt";
  std::ofstream(script) << R"(import sys
from tensorboard.backend.event_processing import event_accumulator as ea
acc = ea.EventAccumulator(sys.argv[1], size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.TENSORS: 0})
acc.Reload()
for e in acc.Scalars('train/loss'): print('scalar', e.step, '%.6f' % e.value)
for e in acc.Histograms('weights/fc'):
    h = e.histogram_value
    print('histo', e.step, h.min, h.max, h.num, list(h.bucket))
for e in acc.Tensors('guard'):
    print('text', e.step, e.tensor_proto.string_val[0].decode())
)";
  const std::string cmd = python + " " + script + " " + dir + " > " + out + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("scalar 0 1.000000\nscalar 1 0.500000\nscalar 2 0.333333"), std::string::npos) << text;
  EXPECT_NE(text.find("histo 7 -1.0 2.0 5.0 [2.0, 1.0, 2.0]"), std::string::npos) << text;
  EXPECT_NE(text.find("text 9 step 50 **skip**: the loss is nan"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}
