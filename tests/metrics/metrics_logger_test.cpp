#include <kiln/core/error.h>
#include <kiln/metrics/progress.h>

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kiln::testing {
namespace {

std::string temp_path(const std::string& suffix) {
  return "/tmp/kiln_metrics_test_" + std::to_string(::getpid()) + "_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() + suffix;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(MetricsLogger, CsvHasAHeaderAndOneRowPerStepFlushedAtOnce) {
  const std::string path = temp_path(".csv");
  metrics::MetricsLogger log(path);
  log.log_step(1, 0, 2.5, 0.1, 1000);
  // Readable before the logger closes, as after a crash.
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "step,epoch,loss,lr,samples_per_sec,wall_time");
  EXPECT_EQ(lines[1].rfind("1,0,2.5,0.1,1000,", 0), 0u) << lines[1];
  const double wall = std::stod(lines[1].substr(lines[1].rfind(',') + 1));
  EXPECT_GT(wall, 1.6e9);  // Unix seconds
  log.log_step(2, 0, 0.125, 0.1, 2000);
  EXPECT_EQ(read_lines(path).size(), 3u);
  std::remove(path.c_str());
}

TEST(MetricsLogger, CsvEpochMetricsGoToASecondFileWithFixedColumns) {
  const std::string path = temp_path(".csv");
  metrics::MetricsLogger log(path);
  EXPECT_EQ(log.epoch_path(), path.substr(0, path.size() - 4) + ".epochs.csv");
  log.log_epoch(0, {{"train_loss", 0.5}, {"val_accuracy", 0.875}});
  log.log_epoch(1, {{"train_loss", 0.25}, {"val_accuracy", 0.9}});
  auto lines = read_lines(log.epoch_path());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "epoch,wall_time,train_loss,val_accuracy");
  EXPECT_TRUE(lines[2].rfind("1,", 0) == 0 && lines[2].find(",0.25,0.9") != std::string::npos) << lines[2];
  EXPECT_THROW(log.log_epoch(2, {{"other", 1.0}}), ValueError);
  std::remove(path.c_str());
  std::remove(log.epoch_path().c_str());
}

TEST(MetricsLogger, JsonlWritesStepAndEpochRecords) {
  const std::string path = temp_path(".jsonl");
  {
    metrics::MetricsLogger log(path);
    log.log_step(7, 1, 0.5, 3e-4, 512.5);
    log.log_step(8, 1, std::nan(""), 3e-4, 512.5);
    log.log_epoch(1, {{"val_accuracy", 0.91}});
  }
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  auto step = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(step["type"], "step");
  EXPECT_EQ(step["step"], 7);
  EXPECT_EQ(step["epoch"], 1);
  EXPECT_DOUBLE_EQ(step["loss"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(step["lr"].get<double>(), 3e-4);
  EXPECT_DOUBLE_EQ(step["samples_per_sec"].get<double>(), 512.5);
  EXPECT_TRUE(step.contains("wall_time"));
  EXPECT_TRUE(nlohmann::json::parse(lines[1])["loss"].is_null());  // NaN loss
  auto epoch = nlohmann::json::parse(lines[2]);
  EXPECT_EQ(epoch["type"], "epoch");
  EXPECT_DOUBLE_EQ(epoch["val_accuracy"].get<double>(), 0.91);
  std::remove(path.c_str());
}

TEST(MetricsLogger, AppendKeepsEarlierRowsWithoutARepeatedHeader) {
  const std::string path = temp_path(".csv");
  { metrics::MetricsLogger(path).log_step(1, 0, 1.0, 0.1, 1); }
  { metrics::MetricsLogger(path, /*append=*/true).log_step(2, 0, 1.0, 0.1, 1); }
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2].rfind("2,", 0), 0u);
  std::remove(path.c_str());
}

TEST(MetricsLogger, RejectsUnknownExtensionsAndUnwritablePaths) {
  EXPECT_THROW(metrics::MetricsLogger("/tmp/kiln_log.txt"), ValueError);
  EXPECT_THROW(metrics::MetricsLogger("/nonexistent/dir/log.csv"), IOError);
}

}  // namespace
}  // namespace kiln::testing
