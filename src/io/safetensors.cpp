// safetensors reading and writing. The reader trusts nothing in the file: the
// header length, the JSON, every dtype, shape and offset are checked against
// each other and against the real size of the data before a byte of tensor
// data is read, and every read is bounded by that size.
#include "kiln/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "core/message_text.h"
#include "core/shape_check.h"
#include "core/tensor_impl.h"
#include "io/atomic_file.h"
#include "kiln/ops/factory.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kiln's safetensors code copies tensor bytes as they are and so needs a little-endian host"
#endif

namespace kiln::io {

namespace {

using json = nlohmann::json;

constexpr uint64_t kMaxHeaderBytes = 100ull * 1000 * 1000;  // the reference implementation's limit
constexpr const char* kMetadataKey = "__metadata__";
// A valid header nests three levels ({name: {shape: [..]}}). The parser is
// iterative, but printing or destroying a deep value recurses once per level,
// so 200 KB of "[[[[..." would overflow the stack: refuse deep nesting early.
constexpr int kMaxJsonDepth = 64;

const char* dtype_code(DType t) {
  switch (t) {
    case kFloat64: return "F64";
    case kFloat32: return "F32";
    case kFloat16: return "F16";
    case kBFloat16: return "BF16";
    case kInt64: return "I64";
    case kInt32: return "I32";
    case kUInt8: return "U8";
    case kBool: return "BOOL";
    case kInt8: return "I8";
    case kInt16: return "I16";
    case kUInt16: return "U16";
    case kUInt32: return "U32";
    case kUInt64: return "U64";
    case kFloat8_e4m3fn: return "F8_E4M3";
    case kFloat8_e5m2: return "F8_E5M2";
  }
  return "?";
}

bool dtype_from_code(const std::string& code, DType* out) {
  // Every dtype of the safetensors spec; the last seven are storage only in kiln (kiln/core/dtype.h).
  static const std::pair<const char*, DType> table[] = {
      {"F64", kFloat64}, {"F32", kFloat32}, {"F16", kFloat16}, {"BF16", kBFloat16},        {"I64", kInt64},
      {"I32", kInt32},   {"U8", kUInt8},    {"BOOL", kBool},   {"I8", kInt8},              {"I16", kInt16},
      {"U16", kUInt16},  {"U32", kUInt32},  {"U64", kUInt64},  {"F8_E4M3", kFloat8_e4m3fn}, {"F8_E5M2", kFloat8_e5m2}};
  for (const auto& [c, t] : table)
    if (code == c) {
      *out = t;
      return true;
    }
  return false;
}

// One tensor as the header describes it.
struct Entry {
  std::string name;
  DType dtype = kFloat32;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

struct ParsedHeader {
  std::vector<Entry> entries;  // sorted by begin offset
  Metadata metadata;
};

// Where tensor bytes come from: a file descriptor or a memory buffer.
// read(dst, offset, size) reads [offset, offset + size) of the data section.
using DataReader = std::function<void(void* dst, uint64_t offset, uint64_t size)>;

// Thrown by the JSON parser callback; turned into an IOError naming the file.
struct DuplicateKey {
  std::string key;
};
struct TooDeep {};

// A JSON value for an error message: compact and clipped.
std::string brief(const json& j) {
  return kiln::detail::clip(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

[[noreturn]] void fail(const std::string& source, const std::string& problem) {
  throw IOError("load_safetensors: " + source + ": " + problem);
}

json parse_json(const std::string& text, const std::string& source) {
  // Track the keys of every open object so a repeated key is an error rather
  // than a silent "last one wins".
  std::vector<std::set<std::string>> open_objects;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) throw TooDeep{};
        break;
      case json::parse_event_t::object_start:
        if (depth >= kMaxJsonDepth) throw TooDeep{};
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end: open_objects.pop_back(); break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second)
          throw DuplicateKey{parsed.get<std::string>()};
        break;
      default: break;
    }
    return true;
  };
  try {
    return json::parse(text, cb, /*allow_exceptions=*/true);
  } catch (const DuplicateKey& d) {
    fail(source, "invalid JSON header: key \"" + kiln::detail::clip(d.key) + "\" appears twice");
  } catch (const TooDeep&) {
    fail(source, "invalid JSON header: nested more than " + std::to_string(kMaxJsonDepth) +
                     " levels deep (a safetensors header needs 3)");
  } catch (const json::exception& e) {
    fail(source, "invalid JSON header: " + kiln::detail::clip(e.what()));
  }
}

// Checks a shape as every tensor shape is checked (core/shape_check.h: numel,
// strides and byte size fit in int64, even for [0, 2^62, 2^62]) and returns
// its byte size.
uint64_t checked_nbytes(const Entry& e, const std::string& source) {
  try {
    const int64_t n = kiln::detail::checked_numel("shape", e.shape, element_size(e.dtype));
    return static_cast<uint64_t>(n) * element_size(e.dtype);
  } catch (const ShapeError&) {
    fail(source, "tensor \"" + kiln::detail::clip(e.name) + "\" has shape " + kiln::detail::clip(shape_str(e.shape)) +
                     " whose size overflows a 64-bit integer (its element count, strides or byte size)");
  }
}

Entry parse_entry(const std::string& name, const json& info, const std::string& source) {
  Entry e;
  e.name = name;
  const std::string where = "tensor \"" + kiln::detail::clip(name) + "\"";
  if (!info.is_object()) fail(source, where + ": expected an object with dtype, shape and data_offsets");
  auto field = [&](const char* key) -> const json& {
    auto it = info.find(key);
    if (it == info.end()) fail(source, where + ": missing \"" + key + "\"");
    return *it;
  };
  const json& dtype = field("dtype");
  if (!dtype.is_string()) fail(source, where + ": dtype must be a string, got " + brief(dtype));
  if (!dtype_from_code(dtype.get<std::string>(), &e.dtype))
    fail(source, where + ": unsupported dtype \"" + kiln::detail::clip(dtype.get<std::string>()) +
                     "\" (kiln reads F64, F32, F16, BF16, I64, I32, U8, BOOL, I8, I16, U16, U32, U64, F8_E4M3, F8_E5M2)");
  const json& shape = field("shape");
  if (!shape.is_array()) fail(source, where + ": shape must be an array, got " + brief(shape));
  for (const json& d : shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(source, where + ": shape " + brief(shape) + " must hold non-negative integers");
    e.shape.push_back(static_cast<int64_t>(d.get<uint64_t>()));
  }
  const json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    fail(source, where + ": data_offsets must be two non-negative integers, got " + brief(offsets));
  e.begin = offsets[0].get<uint64_t>();
  e.end = offsets[1].get<uint64_t>();
  if (e.end < e.begin) fail(source, where + ": data_offsets " + brief(offsets) + " end before they begin");
  const uint64_t need = checked_nbytes(e, source);
  if (e.end - e.begin != need)
    fail(source, where + ": data_offsets " + brief(offsets) + " span " + std::to_string(e.end - e.begin) +
                     " bytes but shape " + kiln::detail::clip(shape_str(e.shape)) + " of " + dtype_code(e.dtype) + " needs " +
                     std::to_string(need));
  return e;
}

// Parses and validates the header against a data section of data_size bytes.
ParsedHeader parse_header(const std::string& text, uint64_t data_size, const std::string& source) {
  const json root = parse_json(text, source);
  if (!root.is_object()) fail(source, "invalid JSON header: the top level must be an object");
  ParsedHeader h;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == kMetadataKey) {
      if (!it.value().is_object()) fail(source, "__metadata__ must be an object of strings");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string())
          fail(source, "__metadata__ value for \"" + kiln::detail::clip(m.key()) + "\" must be a string, got " +
                           brief(m.value()));
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    h.entries.push_back(parse_entry(it.key(), it.value(), source));
  }
  // The tensors must tile the data section exactly: sorted by offset, each
  // starts where the previous one ended, the first at 0, the last at the end.
  std::sort(h.entries.begin(), h.entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t expected = 0;
  std::string previous;
  for (const Entry& e : h.entries) {
    if (e.begin != expected) {
      const std::string what = e.begin < expected ? "overlaps" : "leaves a gap after";
      fail(source, "data_offsets are not contiguous: tensor \"" + kiln::detail::clip(e.name) + "\" starts at byte " +
                       std::to_string(e.begin) + " but " +
                       (previous.empty() ? std::string("the data section starts at 0")
                                         : "the previous tensor \"" + kiln::detail::clip(previous) + "\" ends at " +
                                               std::to_string(expected)) +
                       " (it " + what + " its neighbour)");
    }
    expected = e.end;
    previous = e.name;
  }
  if (expected > data_size)
    fail(source, "data_offsets overrun the file: tensor \"" + kiln::detail::clip(previous) + "\" ends at byte " + std::to_string(expected) +
                     " of the data section but the file holds only " + std::to_string(data_size) +
                     " data bytes (truncated file?)");
  if (expected < data_size)
    fail(source, "the file has " + std::to_string(data_size - expected) +
                     " bytes after the last tensor (data section " + std::to_string(data_size) +
                     " bytes, tensors end at " + std::to_string(expected) + ")");
  return h;
}

// Reads the 8-byte length and the header given the total size; returns the header text.
std::string read_header(const std::function<void(void*, uint64_t, uint64_t)>& read_raw, uint64_t total,
                        const std::string& source, uint64_t* header_len) {
  if (total < 8)
    fail(source, "file of " + std::to_string(total) + " bytes is too short to hold the 8-byte header length");
  unsigned char len_bytes[8];
  read_raw(len_bytes, 0, 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  if (n > kMaxHeaderBytes)
    fail(source, "header length " + std::to_string(n) + " exceeds the limit of " + std::to_string(kMaxHeaderBytes) +
                     " bytes (100 MB)");
  if (n > total - 8)
    fail(source, "header length " + std::to_string(n) + " overruns the file of " + std::to_string(total) +
                     " bytes (truncated file?)");
  std::string text(n, '\0');
  if (n > 0) read_raw(text.data(), 8, n);
  *header_len = n;
  return text;
}

// Gives the tensor of entry e as a view of the file's bytes at `offset` (an
// undefined Tensor when it cannot, and the bytes are read instead).
using AliasFn = std::function<Tensor(const Entry& e, uint64_t offset)>;

SafetensorsContents load_from(const std::function<void(void*, uint64_t, uint64_t)>& read_raw, uint64_t total,
                              Device device, const std::string& source, const AliasFn& alias = nullptr) {
  uint64_t n = 0;
  const std::string text = read_header(read_raw, total, source, &n);
  const uint64_t data_start = 8 + n;
  ParsedHeader h = parse_header(text, total - data_start, source);
  SafetensorsContents out;
  out.metadata = std::move(h.metadata);
  for (const Entry& e : h.entries) {
    Tensor t = alias ? alias(e, data_start + e.begin) : Tensor();
    if (!t.defined()) {
      t = kiln::detail::make_empty(e.shape, e.dtype, Device(kCPU));
      if (e.end > e.begin) read_raw(t.raw_data_ptr(), data_start + e.begin, e.end - e.begin);
    }
    if (e.dtype == kBool) {
      // Only 0 and 1 are valid bools; anything else would be undefined behaviour to read as bool.
      const auto* bytes = static_cast<const unsigned char*>(t.raw_data_ptr());
      for (int64_t i = 0; i < t.numel(); ++i)
        if (bytes[i] > 1)
          fail(source, "BOOL tensor \"" + kiln::detail::clip(e.name) + "\" holds byte value " + std::to_string(bytes[i]) + " at element " +
                           std::to_string(i));
    }
    out.tensors[e.name] = device.is_cpu() ? t : t.to(device);
  }
  return out;
}

// The header JSON for `tensors` (already checked), padded to a multiple of 8.
std::string build_header(const StateDict& tensors, const Metadata& metadata) {
  json root = json::object();
  json meta = json::object();
  meta["format"] = "pt";
  for (const auto& [k, v] : metadata) meta[k] = v;
  root[kMetadataKey] = meta;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
    json info = json::object();
    info["dtype"] = dtype_code(t.dtype());
    info["shape"] = t.sizes();
    info["data_offsets"] = {offset, offset + nbytes};
    root[name] = info;
    offset += nbytes;
  }
  std::string text;
  try {
    text = root.dump();
  } catch (const json::exception& e) {
    throw ValueError(std::string("save_safetensors: a tensor name or metadata entry is not valid UTF-8: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void check_writable(const StateDict& tensors) {
  for (const auto& [name, t] : tensors) {
    KILN_CHECK(!name.empty(), ValueError, "save_safetensors: empty tensor name");
    KILN_CHECK(name != kMetadataKey, ValueError, "save_safetensors: \"", kMetadataKey, "\" is reserved and cannot name a tensor");
    KILN_CHECK(t.defined(), ValueError, "save_safetensors: tensor \"", name, "\" is undefined");
  }
}

// Writes the whole file through `sink`, one tensor at a time (each copied to a dense CPU buffer only if needed).
void write_safetensors(const StateDict& tensors, const Metadata& metadata, const internal::ByteSink& sink) {
  check_writable(tensors);
  const std::string header = build_header(tensors, metadata);
  unsigned char len_bytes[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(n >> (8 * i));
  sink(len_bytes, 8);
  sink(header.data(), header.size());
  for (const auto& [name, t] : tensors) {
    if (t.numel() == 0) continue;
    Tensor host = t.detach().cpu().contiguous();
    sink(host.raw_data_ptr(), static_cast<size_t>(host.numel()) * host.element_size());
  }
}

}  // namespace

std::string serialize_safetensors(const StateDict& tensors, const Metadata& metadata) {
  std::string out;
  write_safetensors(tensors, metadata, [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

SafetensorsContents deserialize_safetensors(const std::string& bytes, Device device, const std::string& source_name) {
  auto read_raw = [&](void* dst, uint64_t offset, uint64_t size) {
    KILN_INTERNAL_ASSERT(offset <= bytes.size() && size <= bytes.size() - offset, "safetensors: read out of bounds");
    std::memcpy(dst, bytes.data() + offset, size);
  };
  return load_from(read_raw, bytes.size(), device, source_name);
}

void save_safetensors(const std::string& path, const StateDict& tensors, const Metadata& metadata) {
  check_writable(tensors);
  internal::write_file_atomically(path, [&](const internal::ByteSink& sink) { write_safetensors(tensors, metadata, sink); });
}

namespace {

// A read-only view of a whole file (PROT_READ | PROT_WRITE, MAP_PRIVATE:
// writes go to private copies of the touched pages, never to the file).
// Tensors loaded from it alias it and keep it alive; it is unmapped with
// the last of them.
struct FileMapping {
  void* base = MAP_FAILED;
  size_t size = 0;
  ~FileMapping() {
    if (base != MAP_FAILED) ::munmap(base, size);
  }
};

}  // namespace

SafetensorsContents load_safetensors(const std::string& path, Device device, LoadMode mode) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(path, std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  const uint64_t total = static_cast<uint64_t>(st.st_size);
  auto read_raw = [&](void* dst, uint64_t offset, uint64_t size) {
    KILN_INTERNAL_ASSERT(offset <= total && size <= total - offset, "safetensors: read out of bounds");
    char* p = static_cast<char*>(dst);
    while (size > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, 1u << 30));
      const ssize_t got = ::pread(fd, p, chunk, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail(path, std::string("read failed: ") + std::strerror(errno));
      if (got == 0) fail(path, "the file ended early (it shrank while being read)");
      p += got;
      offset += static_cast<uint64_t>(got);
      size -= static_cast<uint64_t>(got);
    }
  };
  // LoadMode::Map: tensor data is mapped, not read (kiln/io/safetensors.h
  // says what that guarantees). The header is still read with pread and
  // checked, with every offset, against the size fstat gave before a mapped
  // byte is touched. A tensor whose bytes are not aligned to its element
  // size is read into memory of its own instead, and so is everything when
  // the file cannot be mapped.
  std::shared_ptr<FileMapping> mapping;
  if (mode == LoadMode::Map && total >= 8 && total <= std::numeric_limits<size_t>::max()) {
    auto m = std::make_shared<FileMapping>();
    m->size = static_cast<size_t>(total);
    m->base = ::mmap(nullptr, m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (m->base != MAP_FAILED) mapping = std::move(m);
  }
  AliasFn alias;
  if (mapping) {
    alias = [&mapping](const Entry& e, uint64_t offset) -> Tensor {
      if (e.end == e.begin) return Tensor();
      char* p = static_cast<char*>(mapping->base) + offset;
      if (reinterpret_cast<uintptr_t>(p) % element_size(e.dtype) != 0) return Tensor();
      std::shared_ptr<FileMapping> keep = mapping;
      return from_blob(p, e.shape, [keep](void*) {}, TensorOptions(e.dtype));
    };
  }
  return load_from(read_raw, total, device, path, alias);
}

}  // namespace kiln::io
