// char_gpt's text reader (examples/char_gpt/text_data.h): a directory gives
// its text files one after the other in name order, skipping the *.dat
// indexes, *.u8 files, symbolic links and subdirectories (Debian's fortunes
// layout); a file gives its bytes; a missing path or a directory without
// text raises IOError naming it.
#include <gtest/gtest.h>

#include <kiln/kiln.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "text_data.h"

namespace fs = std::filesystem;

namespace {

// A fresh directory under the test's temporary directory, removed at the end.
class Scratch {
 public:
  Scratch() {
    std::string tmpl = ::testing::TempDir() + "/kiln_char_gpt_XXXXXX";
    const char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = made ? made : ::testing::TempDir();
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  fs::path write(const std::string& name, const std::string& bytes) const {
    const fs::path p = path_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string expect_io_error(const std::string& where) {
  try {
    char_gpt::read_text(where);
  } catch (const kiln::IOError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no IOError for " << where;
  return "";
}

}  // namespace

TEST(CharGptTextData, DirectoryReadsTheTextFilesInNameOrderAndSkipsTheRest) {
  Scratch dir;
  // Written out of name order; the directory's own order is unspecified.
  dir.write("zen", "three\n");
  dir.write("art", "one\n");
  dir.write("bugs", "two\n");
  dir.write("art.dat", std::string("\0\0\0\2binary index", 16));
  dir.write("people.u8", "a UTF-8 copy that is not a link\n");
  fs::create_symlink("art", dir.path() / "art.u8");
  fs::create_symlink(dir.path() / "bugs", dir.path() / "more_bugs");  // a link without a suffix
  fs::create_directory(dir.path() / "off");
  dir.write("off/inner", "in a subdirectory\n");
  std::vector<std::string> files;
  const std::string text = char_gpt::read_text(dir.path().string(), &files);
  EXPECT_EQ(text, "one\ntwo\nthree\n");
  EXPECT_EQ(files, (std::vector<std::string>{"art", "bugs", "zen"}));
}

TEST(CharGptTextData, AFileGivesItsBytesWhateverItsName) {
  Scratch dir;
  const std::string bytes("a\0b\xff\n", 5);
  const fs::path p = dir.write("index.dat", bytes);
  std::vector<std::string> files;
  EXPECT_EQ(char_gpt::read_text(p.string(), &files), bytes);
  EXPECT_EQ(files, (std::vector<std::string>{p.string()}));
}

TEST(CharGptTextData, MissingPathAndDirectoryWithoutTextAreIOErrors) {
  Scratch dir;
  const std::string missing = (dir.path() / "no_such_file").string();
  const std::string msg = expect_io_error(missing);
  EXPECT_NE(msg.find(missing), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  dir.write("only.dat", "index");
  dir.write("only.u8", "copy");
  fs::create_symlink("only.dat", dir.path() / "link");
  const std::string empty = expect_io_error(dir.path().string());
  EXPECT_NE(empty.find("no text files in " + dir.path().string()), std::string::npos) << empty;
}

TEST(CharGptTextData, SplitKeepsEveryByteAndSendsEveryTenthChunkToValidation) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += std::string(8, static_cast<char>('a' + i));  // 25 chunks of 8
  const char_gpt::Split s = char_gpt::split_90_10(text, 8);
  EXPECT_EQ(s.train.size() + s.val.size(), text.size());
  EXPECT_EQ(s.val, text.substr(72, 8) + text.substr(152, 8));  // chunks 9 and 19
  const char_gpt::Split small = char_gpt::split_90_10("0123456789abcdefghij", 4096);
  EXPECT_EQ(small.train, "0123456789abcdefgh");
  EXPECT_EQ(small.val, "ij");
}
