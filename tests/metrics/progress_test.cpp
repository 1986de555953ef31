#include <kiln/metrics/progress.h>

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace kiln::testing {
namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(ProgressBar, PlainModePrintsEveryNStepsAndASummary) {
  std::ostringstream out;
  metrics::ProgressOptions opt;
  opt.out = &out;
  opt.tty = false;
  opt.log_every = 2;
  metrics::ProgressBar bar(2, 10, 5, opt);
  for (double loss : {0.5, 0.3, 0.1, 0.1, 0.0}) bar.update(loss, 32);
  bar.finish({{"val_accuracy", 0.88}});
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 3u) << out.str();
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(epoch 2/10 step 2/5 loss 0\.4000 samples/s \d+\.\d eta \d+s)")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(epoch 2/10 step 4/5 loss 0\.2500 samples/s \d+\.\d eta \d+s)")))
      << lines[1];
  EXPECT_TRUE(std::regex_match(
      lines[2], std::regex(R"(epoch 2/10 done 5 steps loss 0\.2000 samples/s \d+\.\d time \d+\.\ds val_accuracy 0\.8800)")))
      << lines[2];
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
  EXPECT_DOUBLE_EQ(bar.mean_loss(), 0.2);
}

TEST(ProgressBar, TerminalModeRedrawsOneLine) {
  std::ostringstream out;
  metrics::ProgressOptions opt;
  opt.out = &out;
  opt.tty = true;
  opt.refresh_seconds = 0;
  opt.bar_width = 4;
  metrics::ProgressBar bar(1, 0, 4, opt);
  bar.update(1.0, 8);
  bar.update(0.0, 8);
  std::string s = out.str();
  EXPECT_EQ(s.find('\n'), std::string::npos);
  EXPECT_NE(s.rfind("\r\x1b[Kepoch 1 [##..] 2/4 loss 0.5000 | "), std::string::npos) << s;
  EXPECT_NE(s.find(" samples/s | ETA 0:"), std::string::npos) << s;
  bar.finish();
  EXPECT_EQ(out.str().back(), '\n');
  EXPECT_NE(out.str().find("epoch 1 done 2 steps loss 0.5000"), std::string::npos);
}

TEST(ProgressBar, FormatsDurations) {
  EXPECT_EQ(metrics::format_duration(42), "0:42");
  EXPECT_EQ(metrics::format_duration(429), "7:09");
  EXPECT_EQ(metrics::format_duration(3903), "1:05:03");
}

}  // namespace
}  // namespace kiln::testing
