#include "kiln/metrics/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include "kiln/core/error.h"

namespace kiln::metrics {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  std::ostringstream os;
  if (s >= 3600) os << s / 3600 << ':' << std::setw(2) << std::setfill('0') << (s / 60) % 60;
  else os << s / 60;
  os << ':' << std::setw(2) << std::setfill('0') << s % 60;
  return os.str();
}

ProgressBar::ProgressBar(int64_t epoch, int64_t num_epochs, int64_t total_steps, ProgressOptions options)
    : epoch_(epoch), num_epochs_(num_epochs), total_(total_steps), opt_(options) {
  KILN_CHECK(opt_.out != nullptr, ValueError, "ProgressBar: output stream is null");
  KILN_CHECK(total_steps >= 0 && opt_.log_every >= 1, ValueError, "ProgressBar: total_steps ", total_steps,
             " must be >= 0 and log_every ", opt_.log_every, " >= 1");
  tty_ = opt_.tty ? *opt_.tty : (opt_.out == &std::cout && ::isatty(STDOUT_FILENO));
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ProgressBar::samples_per_sec() const {
  const double t = elapsed_seconds();
  return t > 0 ? static_cast<double>(samples_) / t : 0.0;
}

std::string ProgressBar::head() const {
  std::ostringstream os;
  os << opt_.label << ' ' << epoch_;
  if (num_epochs_ > 0) os << '/' << num_epochs_;
  return os.str();
}

void ProgressBar::update(double loss, int64_t batch_size) {
  ++step_;
  samples_ += batch_size;
  loss_sum_ += loss;
  if (tty_) {
    const auto now = std::chrono::steady_clock::now();
    if (step_ == total_ || std::chrono::duration<double>(now - last_draw_).count() >= opt_.refresh_seconds) {
      last_draw_ = now;
      draw_line();
    }
  } else if (step_ % opt_.log_every == 0 && step_ != total_) {
    // The last step is reported by finish().
    print_plain_line();
  }
}

void ProgressBar::draw_line() {
  const double rate = samples_per_sec();
  const double per_step = step_ ? elapsed_seconds() / static_cast<double>(step_) : 0.0;
  const int64_t filled = total_ > 0 ? std::min<int64_t>(opt_.bar_width, step_ * opt_.bar_width / total_) : 0;
  std::ostringstream os;
  os << "\r\x1b[K" << head() << " [" << std::string(size_t(filled), '#')
     << std::string(size_t(opt_.bar_width - filled), '.') << "] " << step_ << '/' << total_ << " loss "
     << std::fixed << std::setprecision(4) << mean_loss() << " | " << std::setprecision(0) << rate
     << ' ' << opt_.unit << "/s | ETA "
     << format_duration(per_step * static_cast<double>(std::max<int64_t>(0, total_ - step_)));
  *opt_.out << os.str() << std::flush;
}

void ProgressBar::print_plain_line() {
  const double per_step = step_ ? elapsed_seconds() / static_cast<double>(step_) : 0.0;
  std::ostringstream os;
  os << head() << " step " << step_ << '/' << total_ << " loss " << std::fixed << std::setprecision(4) << mean_loss()
     << ' ' << opt_.unit << "/s " << std::setprecision(1) << samples_per_sec() << " eta " << std::setprecision(0)
     << per_step * static_cast<double>(std::max<int64_t>(0, total_ - step_)) << "s\n";
  *opt_.out << os.str() << std::flush;
}

void ProgressBar::finish(const NamedValues& metrics) {
  if (finished_) return;
  finished_ = true;
  std::ostringstream os;
  if (tty_) os << "\r\x1b[K";
  os << head() << " done " << step_ << " steps loss " << std::fixed << std::setprecision(4) << mean_loss()
     << ' ' << opt_.unit << "/s " << std::setprecision(1) << samples_per_sec() << " time " << elapsed_seconds() << 's';
  for (const auto& [name, value] : metrics) os << ' ' << name << ' ' << std::setprecision(4) << value;
  os << '\n';
  *opt_.out << os.str() << std::flush;
}

}  // namespace kiln::metrics
