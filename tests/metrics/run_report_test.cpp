// RunReport: one self-contained HTML page (no scripts, no external files)
// holding the curves, the confusion matrix, the reliability diagram and the
// guard's actions. Whether it looks right is checked by eye in headless
// Chromium (docs/training_health.md); here, that everything is in it.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace kiln;

namespace {

int occurrences(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

metrics::RunReport sample_report() {
  metrics::RunReport r("demo <run> & co");
  r.add_config("optimizer", "sgd");
  for (int s = 0; s < 3000; ++s)
    r.log_step(s, s == 1500 ? NAN : 2.0 * std::exp(-s / 800.0) + 0.2, 0.05 * (1 - s / 3000.0), 1000 + s % 7);
  r.log_epoch(0, 1500, {{"test_loss", 0.5}, {"test_accuracy", 0.81}});
  r.log_epoch(1, 3000, {{"test_loss", 0.4}, {"test_accuracy", 0.87}});
  r.add_event(1500, "skip", "the loss is nan; the step is skipped");
  r.add_event(2100, "rollback", "3 troubled steps: restored the state before step 2000");
  metrics::ConfusionMatrix cm(3, {"cat", "dog", "<bird>"});
  cm.update(std::vector<int64_t>{0, 0, 1, 2, 2, 1}, std::vector<int64_t>{0, 1, 1, 2, 2, 2});
  r.set_confusion_matrix(cm);
  metrics::CalibrationError ece(10);
  ece.update(tensor(std::vector<float>{0.9f, 0.1f, 0.3f, 0.7f, 0.6f, 0.4f}, {3, 2}), tensor({0, 1, 1}));
  r.set_calibration(ece);
  return r;
}

}  // namespace

TEST(RunReport, OnePageWithEveryPart) {
  const std::string h = sample_report().html();
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(occurrences(h, "<svg"), 6) << "loss, accuracy, lr, throughput, confusion matrix, reliability";
  EXPECT_EQ(occurrences(h, "<script"), 0);
  EXPECT_EQ(occurrences(h, "src="), 0) << "self-contained: nothing is loaded from elsewhere";
  EXPECT_EQ(occurrences(h, "<link"), 0);
  EXPECT_NE(h.find("demo &lt;run&gt; &amp; co"), std::string::npos) << "text is escaped";
  EXPECT_NE(h.find("&lt;bird&gt; predicted as &lt;bird&gt;: 2"), std::string::npos);
  EXPECT_NE(h.find("the loss is nan; the step is skipped"), std::string::npos);
  EXPECT_NE(h.find("class=\"kind-rollback\""), std::string::npos);
  // The two events are markers on the loss and lr charts.
  EXPECT_EQ(occurrences(h, "stroke=\"#d9372b\" stroke-width=\"1.5\" stroke-opacity=\"0.7\" stroke-dasharray"), 2);
  EXPECT_EQ(occurrences(h, "stroke=\"#e8a33d\" stroke-width=\"1.5\" stroke-opacity=\"0.7\" stroke-dasharray"), 2);
  EXPECT_NE(h.find("0.8700"), std::string::npos) << "the last epoch's accuracy is a headline number";
  // 3000 steps are drawn with at most 1200 points per curve.
  const size_t loss_path = h.find("stroke=\"#9db4d3\"");
  ASSERT_NE(loss_path, std::string::npos);
  const size_t path_start = h.rfind("<path d=\"", loss_path);
  EXPECT_LE(occurrences(h.substr(path_start, loss_path - path_start), " L"), 1200);
}

TEST(RunReport, WritesTheFileOrSaysWhy) {
  const std::string path = ::testing::TempDir() + "/kiln_run_report.html";
  sample_report().write_html(path);
  std::ifstream f(path);
  const std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(s, sample_report().html());
  std::filesystem::remove(path);
  EXPECT_THROW(sample_report().write_html(::testing::TempDir() + "/no/such/dir/r.html"), IOError);
}

TEST(RunReport, EmptyRunStillRenders) {
  const std::string h = metrics::RunReport("empty").html();
  EXPECT_NE(h.find("no data"), std::string::npos);
  EXPECT_NE(h.find("none: every step was accepted"), std::string::npos);
}

TEST(RunReport, ReplayedStepsShowTheirLastRunAndTheAbandonedOneApart) {
  metrics::RunReport r("rollback");
  for (int s = 0; s < 30; ++s) r.log_step(s, s >= 20 ? 50.0 : 1.0, 0.1, 100);  // steps 20-29 went bad
  for (int s = 10; s < 40; ++s) r.log_step(s, 0.9, 0.05, 100);                 // rolled back to 10
  const std::string h = r.html();
  ASSERT_NE(h.find("rolled back"), std::string::npos);
  // The main curve has one point per step (0..39), the abandoned one steps 10-29.
  const size_t main_color = h.find("stroke=\"#9db4d3\""), bad_color = h.find("stroke=\"#e0413a\" stroke-width=\"1.2\"");
  ASSERT_NE(main_color, std::string::npos);
  ASSERT_NE(bad_color, std::string::npos);
  const size_t main_start = h.rfind("<path d=\"", main_color), bad_start = h.rfind("<path d=\"", bad_color);
  EXPECT_EQ(occurrences(h.substr(main_start, main_color - main_start), " L"), 39);
  EXPECT_EQ(occurrences(h.substr(bad_start, bad_color - bad_start), " L"), 19);
}
