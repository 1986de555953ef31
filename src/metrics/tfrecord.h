// The two encodings a TensorBoard event file is made of, written by hand:
//   - TFRecord framing: each record is
//       uint64 length (little endian) | uint32 masked_crc32c(length bytes)
//       | data | uint32 masked_crc32c(data)
//     where masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 and CRC-32C is
//     the Castagnoli polynomial (reflected 0x82f63b78).
//   - The protobuf wire format of tensorflow.Event and its Summary: a field
//     is a varint key (field number << 3 | wire type) and then a varint
//     (type 0), 8 bytes (type 1), a length-prefixed byte string (type 2) or
//     4 bytes (type 5). Only the encoder side is here; the test decodes.
// Hand-written rather than generated from TensorFlow's .proto files with
// protoc: the messages kiln writes need the ~60 lines below, and neither a
// code generator nor copied .proto files (nor libprotobuf) enter the build.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::metrics::tfrecord {

uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);
// One framed record holding `data`.
std::string frame(const std::string& data);

// Appends protobuf fields to a message being built.
class ProtoWriter {
 public:
  ProtoWriter& varint(int field, uint64_t v);
  ProtoWriter& fixed64(int field, double v);  // a double
  ProtoWriter& fixed32(int field, float v);   // a float
  ProtoWriter& bytes(int field, const std::string& v);  // strings and nested messages
  // A packed repeated double field.
  ProtoWriter& packed_doubles(int field, const double* v, size_t n);
  const std::string& str() const { return out_; }

 private:
  void key(int field, int wire_type);
  void raw_varint(uint64_t v);
  std::string out_;
};

}  // namespace kiln::metrics::tfrecord
