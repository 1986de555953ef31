// char_gpt's data: the bytes of a text, split 90/10 into training and
// validation text, and the dataset of training windows (x = bytes [i, i+T),
// y = bytes [i+1, i+T+1)) a DataLoader draws batches from.
#pragma once
#include <kiln/kiln.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace char_gpt {

// Debian's fortunes package: one text file per collection, beside binary
// *.dat indexes and *.u8 links to the same files.
inline const char* kDefaultData = "/usr/share/games/fortunes";

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw kiln::IOError("char_gpt: cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A file's bytes, or a directory's text files (sorted by name, skipping
// *.dat, *.u8 and links) one after the other.
inline std::string read_text(const std::string& where, std::vector<std::string>* files = nullptr) {
  namespace fs = std::filesystem;
  if (!fs::exists(where))
    throw kiln::IOError("char_gpt: " + where + " does not exist" +
                        (where == kDefaultData ? " (install Debian's fortunes package, or pass --data FILE)" : ""));
  if (!fs::is_directory(where)) {
    if (files) files->push_back(where);
    return read_file(where);
  }
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(where)) {
    const std::string ext = e.path().extension().string();
    if (e.is_symlink() || !e.is_regular_file() || ext == ".dat" || ext == ".u8") continue;
    paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  std::string text;
  for (const auto& p : paths) {
    text += read_file(p);
    if (files) files->push_back(p.filename().string());
  }
  if (text.empty()) throw kiln::IOError("char_gpt: no text files in " + where);
  return text;
}

// 90/10 by chunks: of every ten consecutive 4 KiB chunks the tenth is
// validation text, so both halves sample the whole text (sorted files would
// otherwise put the last collections alone in validation).
struct Split {
  std::string train, val;
};
inline Split split_90_10(const std::string& text, size_t chunk = 4096) {
  Split s;
  for (size_t i = 0, k = 0; i < text.size(); i += chunk, ++k)
    (k % 10 == 9 ? s.val : s.train).append(text, i, chunk);
  if (s.val.empty()) {  // a text under ten chunks: its last tenth
    const size_t cut = text.size() - text.size() / 10;
    s.train = text.substr(0, cut);
    s.val = text.substr(cut);
  }
  return s;
}

// x [B, T] and y [B, T] int64 of the windows starting at `starts`.
inline kiln::data::Batch windows(const std::string& text, const std::vector<int64_t>& starts, int64_t T) {
  const int64_t B = static_cast<int64_t>(starts.size());
  kiln::Tensor x = kiln::empty({B, T}, kiln::kInt64), y = kiln::empty({B, T}, kiln::kInt64);
  int64_t* px = static_cast<int64_t*>(x.raw_data_ptr());
  int64_t* py = static_cast<int64_t*>(y.raw_data_ptr());
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      px[b * T + t] = bytes[starts[static_cast<size_t>(b)] + t];
      py[b * T + t] = bytes[starts[static_cast<size_t>(b)] + t + 1];
    }
  kiln::data::Batch batch;
  batch.data = x;
  batch.target = y;
  return batch;
}

// Example i is the window starting at byte i: every start is one example,
// so a shuffled epoch visits every window once, in an order fixed by the
// loader's seed and epoch.
class WindowDataset : public kiln::data::Dataset {
 public:
  WindowDataset(std::string text, int64_t context) : text_(std::move(text)), context_(context) {
    if (static_cast<int64_t>(text_.size()) < context_ + 2)
      throw kiln::ValueError("char_gpt: the training text (" + std::to_string(text_.size()) +
                             " bytes) is shorter than the context + 2 (" + std::to_string(context_ + 2) + ")");
  }
  int64_t size() const override { return static_cast<int64_t>(text_.size()) - context_; }
  kiln::data::Example get(int64_t i) const override {
    kiln::data::check_index("char_gpt windows", i, size());
    auto b = windows(text_, {i}, context_);
    return {b.data.squeeze(0), b.target.squeeze(0)};
  }
  kiln::data::Batch get_batch(const std::vector<int64_t>& indices) const override {
    return windows(text_, indices, context_);
  }

 private:
  std::string text_;
  int64_t context_;
};

}  // namespace char_gpt
