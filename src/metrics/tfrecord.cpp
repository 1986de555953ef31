// TFRecord framing (CRC-32C, masked) and the protobuf wire encoder.
#include "metrics/tfrecord.h"

#include <array>
#include <cstring>

namespace kiln::metrics::tfrecord {

namespace {
std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[i] = c;
  }
  return t;
}

template <class T>
void append_le(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  static const std::array<uint32_t, 256> table = make_table();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string frame(const std::string& data) {
  std::string out;
  std::string len;
  append_le<uint64_t>(len, data.size());
  out += len;
  append_le<uint32_t>(out, masked_crc32c(len.data(), len.size()));
  out += data;
  append_le<uint32_t>(out, masked_crc32c(data.data(), data.size()));
  return out;
}

void ProtoWriter::raw_varint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void ProtoWriter::key(int field, int wire_type) { raw_varint((static_cast<uint64_t>(field) << 3) | wire_type); }

ProtoWriter& ProtoWriter::varint(int field, uint64_t v) {
  key(field, 0);
  raw_varint(v);
  return *this;
}

ProtoWriter& ProtoWriter::fixed64(int field, double v) {
  key(field, 1);
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  append_le(out_, bits);
  return *this;
}

ProtoWriter& ProtoWriter::fixed32(int field, float v) {
  key(field, 5);
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  append_le(out_, bits);
  return *this;
}

ProtoWriter& ProtoWriter::bytes(int field, const std::string& v) {
  key(field, 2);
  raw_varint(v.size());
  out_ += v;
  return *this;
}

ProtoWriter& ProtoWriter::packed_doubles(int field, const double* v, size_t n) {
  key(field, 2);
  raw_varint(8 * n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits;
    std::memcpy(&bits, &v[i], 8);
    append_le(out_, bits);
  }
  return *this;
}

}  // namespace kiln::metrics::tfrecord
