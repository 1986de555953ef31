// The suites driven by the op table (tests/ops/op_table.h):
//   OpForward    op x device x dtype x sample: kiln vs the float64 reference
//                (and, on a GPU machine, CUDA forward and backward vs CPU),
//                with every allocation guarded by sentinel bytes
//                (sentinel_guard.h): a kernel writing past the end of its
//                output fails the case
//   OpGradcheck  differentiable rows, float64 on the CPU
//   OpErrors     the documented errors: class and message
//   OpCoverage   every public op in include/kiln/ops/*.h has a row or an exemption
//   OpGuard      the sentinel guard itself catches a write past the end
//   DISABLED_OpPerf  perf mode: times every row on every device, dtype by
//                dtype, on its largest sample, and prints one table. Run it with
//                kiln_test_ops --gtest_also_run_disabled_tests --gtest_filter='DISABLED_OpPerf.*'
//                (speed is reported here, never asserted).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "ops/op_table.h"
#include "ops/sentinel_guard.h"

namespace kiln::testing {
namespace {

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

std::vector<std::string> test_devices() {
  std::vector<std::string> d = {"cpu"};
  if (cuda::is_available()) d.push_back("cuda:0");
  return d;
}

std::vector<Tensor> make_inputs(const OpRow& row, const Sample& s, DType dtype, const Device& device, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Tensor> inputs;
  for (const SampleInput& in : s.inputs) inputs.push_back(make_input(in, row.domain, dtype, device, rng));
  return inputs;
}

// |actual - expected| <= atol + rtol |expected| everywhere (nan == nan, inf == inf).
::testing::AssertionResult values_close(const std::vector<double>& actual, const std::vector<double>& expected,
                                        Tolerance tol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << actual.size() << " values, expected " << expected.size();
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    if (a == e || (std::isnan(a) && std::isnan(e))) continue;
    if (std::abs(a - e) <= tol.atol + tol.rtol * std::abs(e)) continue;
    return ::testing::AssertionFailure() << "element " << i << ": got " << a << ", expected " << e << " (rtol "
                                         << tol.rtol << ", atol " << tol.atol << ")";
  }
  return ::testing::AssertionSuccess();
}

// --- forward ---------------------------------------------------------------------------------
struct ForwardCase {
  size_t row, sample;
  std::string device;
  DType dtype;
  std::string name;
};

std::vector<ForwardCase> forward_cases() {
  std::vector<ForwardCase> cases;
  const auto& rows = all_rows();
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& samples = samples_of(rows[r]);
    for (const std::string& dev : test_devices())
      for (DType dt : rows[r].dtypes)
        for (size_t s = 0; s < samples.size(); ++s)
          cases.push_back({r, s, dev, dt, rows[r].name + "/" + dev + "/" + dtype_name(dt) + "/" + samples[s].name});
  }
  return cases;
}

void PrintTo(const ForwardCase& c, std::ostream* os) { *os << c.name; }

class OpForward : public ::testing::TestWithParam<ForwardCase> {};

void check_outputs(const OpRow& row, DType dtype, const std::vector<Tensor>& got, const std::vector<Ref>& expected,
                   const char* what) {
  ASSERT_EQ(got.size(), expected.size()) << what << ": number of outputs";
  for (size_t k = 0; k < got.size(); ++k) {
    SCOPED_TRACE(std::string(what) + " output " + std::to_string(k));
    ASSERT_TRUE(got[k].defined());
    EXPECT_EQ(shape_str(got[k].sizes()), shape_str(expected[k].shape));
    const DType want = expected[k].dtype.value_or(row.out_dtype(dtype));
    EXPECT_EQ(dtype_name(got[k].dtype()), std::string(dtype_name(want)));
    if (got[k].sizes() != expected[k].shape) continue;
    const DType tol_dtype = is_floating(want) ? (is_floating(dtype) ? dtype : want) : want;
    EXPECT_TRUE(values_close(to_ref(got[k]).v, expected[k].v, tolerance_for(row, tol_dtype)));
  }
}

void run_forward_case(const ForwardCase& c) {
  const OpRow& row = all_rows()[c.row];
  const Sample& s = samples_of(row)[c.sample];
  if (const Skip* skip = find_skip(row, c.device, c.dtype, s.name)) GTEST_SKIP() << skip->reason;
  const uint32_t seed = fnv1a(c.name);
  std::vector<Tensor> cpu_inputs = make_inputs(row, s, c.dtype, Device(kCPU), seed);
  std::vector<Ref> refs;
  for (const Tensor& t : cpu_inputs) refs.push_back(to_ref(t));
  const std::vector<Ref> expected = row.ref(refs, s.attrs);
  const std::vector<Tensor> cpu_out = row.fn(cpu_inputs, s.attrs);
  if (c.device == "cpu") {
    check_outputs(row, c.dtype, cpu_out, expected, "cpu");
    return;
  }
  // CUDA: the same values with the same layouts on the device.
  const Device dev(c.device);
  std::vector<Tensor> dev_inputs = make_inputs(row, s, c.dtype, dev, seed);
  const std::vector<Tensor> dev_out = row.fn(dev_inputs, s.attrs);
  for (const Tensor& t : dev_out) EXPECT_EQ(t.device(), dev);
  std::vector<Ref> cpu_as_ref;
  for (const Tensor& t : cpu_out) cpu_as_ref.push_back(to_ref(t));
  for (Ref& r : cpu_as_ref) r.dtype.reset();
  for (size_t k = 0; k < cpu_as_ref.size() && k < expected.size(); ++k) cpu_as_ref[k].dtype = expected[k].dtype;
  check_outputs(row, c.dtype, dev_out, expected, "cuda vs reference");
  check_outputs(row, c.dtype, dev_out, cpu_as_ref, "cuda vs cpu");

  // Backward on both devices: gradients of sum(out * w) for a fixed w.
  if (!row.grad.enabled || !s.differentiable || !is_floating(c.dtype)) return;
  auto grads_on = [&](std::vector<Tensor> inputs) {
    std::vector<Tensor> wrt;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (s.inputs[i].fixed) continue;
      if (s.inputs[i].layout == Layout::Expanded) inputs[i] = inputs[i].contiguous();
      inputs[i].requires_grad_();
      wrt.push_back(inputs[i]);
    }
    std::vector<Tensor> outs = row.fn(inputs, s.attrs);
    Tensor loss;
    for (const Tensor& o : outs) {
      if (!is_floating(o.dtype()) || !o.requires_grad()) continue;
      Tensor w = arange(o.numel(), TensorOptions(kFloat64).device(o.device())).reshape(o.sizes()) * 0.01;
      Tensor term = sum(o.to(kFloat64) * w);
      loss = loss.defined() ? loss + term : term;
    }
    std::vector<Tensor> g;
    if (!loss.defined() || wrt.empty()) return g;
    return autograd::grad({loss}, wrt, {}, false, /*create_graph=*/false, /*allow_unused=*/true);
  };
  const std::vector<Tensor> g_cpu = grads_on(make_inputs(row, s, c.dtype, Device(kCPU), seed));
  const std::vector<Tensor> g_dev = grads_on(make_inputs(row, s, c.dtype, dev, seed));
  ASSERT_EQ(g_cpu.size(), g_dev.size());
  const Tolerance tol = tolerance_for(row, c.dtype);
  for (size_t k = 0; k < g_cpu.size(); ++k) {
    ASSERT_EQ(g_cpu[k].defined(), g_dev[k].defined()) << "gradient " << k;
    if (!g_cpu[k].defined()) continue;
    EXPECT_TRUE(values_close(to_ref(g_dev[k]).v, to_ref(g_cpu[k]).v, {tol.rtol * 4, tol.atol * 4})) << "gradient " << k;
  }
}

TEST_P(OpForward, MatchesReference) {
  SentinelGuard guard;
  run_forward_case(GetParam());  // every tensor of the case is freed (and its sentinel checked) on return
  for (const std::string& v : guard.violations()) ADD_FAILURE() << "written past the end of an allocation: " << v;
}

INSTANTIATE_TEST_SUITE_P(Table, OpForward, ::testing::ValuesIn(forward_cases()),
                         [](const ::testing::TestParamInfo<ForwardCase>& info) { return sanitize(info.param.name); });

// --- gradcheck -------------------------------------------------------------------------------
// Gradcheck perturbs every element twice; larger samples are covered by the
// forward suite and by their smaller siblings here.
constexpr int64_t kGradcheckMaxElements = 400;

struct GradCase {
  size_t row, sample;
  std::string name;
};

std::vector<GradCase> grad_cases() {
  std::vector<GradCase> cases;
  const auto& rows = all_rows();
  for (size_t r = 0; r < rows.size(); ++r) {
    if (!rows[r].grad.enabled) continue;
    const auto& samples = samples_of(rows[r]);
    for (size_t s = 0; s < samples.size(); ++s) {
      if (!samples[s].differentiable) continue;
      int64_t n = 0;
      for (const SampleInput& in : samples[s].inputs) n += numel_of(in.shape);
      if (n > kGradcheckMaxElements) continue;
      cases.push_back({r, s, rows[r].name + "/" + samples[s].name});
    }
  }
  return cases;
}

void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }

class OpGradcheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(OpGradcheck, AnalyticMatchesNumeric) {
  const GradCase& c = GetParam();
  const OpRow& row = all_rows()[c.row];
  const Sample& s = samples_of(row)[c.sample];
  if (const Skip* skip = find_skip(row, "cpu", kFloat64, s.name)) GTEST_SKIP() << skip->reason;
  // Expanded inputs become fresh contiguous ones: a contiguous copy of an
  // expansion repeats values, and repeated values are ties (max/min are not
  // differentiable there).
  Sample fresh = s;
  for (SampleInput& in : fresh.inputs)
    if (in.layout == Layout::Expanded) in.layout = Layout::Contiguous;
  std::vector<Tensor> inputs = make_inputs(row, fresh, kFloat64, Device(kCPU), fnv1a(c.name));
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (s.inputs[i].fixed) continue;
    inputs[i].requires_grad_();
    any = true;
  }
  ASSERT_TRUE(any) << "row marked differentiable but sample has no floating input";
  auto f = [&row, &s](const std::vector<Tensor>& v) {
    std::vector<Tensor> outs = row.fn(v, s.attrs), floating;
    for (const Tensor& o : outs)
      if (is_floating(o.dtype())) floating.push_back(o.reshape({-1}));
    if (floating.size() == 1 && outs.size() == 1) return outs[0];
    return cat(floating, 0);
  };
  autograd::GradcheckOptions opts;
  opts.eps = row.grad.eps;
  opts.atol = row.grad.atol;
  opts.rtol = row.grad.rtol;
  const autograd::GradcheckResult r = autograd::gradcheck(f, inputs, opts);
  EXPECT_TRUE(r.ok) << r.report;
}

INSTANTIATE_TEST_SUITE_P(Table, OpGradcheck, ::testing::ValuesIn(grad_cases()),
                         [](const ::testing::TestParamInfo<GradCase>& info) { return sanitize(info.param.name); });

// --- documented errors ----------------------------------------------------------------------------
struct ErrCase {
  size_t row, index;
  std::string name;
};

std::vector<ErrCase> error_cases() {
  std::vector<ErrCase> cases;
  const auto& rows = all_rows();
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t e = 0; e < rows[r].errors.size(); ++e) cases.push_back({r, e, rows[r].name + "/" + rows[r].errors[e].name});
  return cases;
}

const char* kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::Shape: return "ShapeError";
    case ErrorKind::DType: return "DTypeError";
    case ErrorKind::Device: return "DeviceError";
    case ErrorKind::Value: return "ValueError";
    case ErrorKind::Index: return "IndexError";
    case ErrorKind::Autograd: return "AutogradError";
  }
  return "?";
}

bool is_kind(const Error& e, ErrorKind k) {
  switch (k) {
    case ErrorKind::Shape: return dynamic_cast<const ShapeError*>(&e) != nullptr;
    case ErrorKind::DType: return dynamic_cast<const DTypeError*>(&e) != nullptr;
    case ErrorKind::Device: return dynamic_cast<const DeviceError*>(&e) != nullptr;
    case ErrorKind::Value: return dynamic_cast<const ValueError*>(&e) != nullptr;
    case ErrorKind::Index: return dynamic_cast<const IndexError*>(&e) != nullptr;
    case ErrorKind::Autograd: return dynamic_cast<const AutogradError*>(&e) != nullptr;
  }
  return false;
}

void PrintTo(const ErrCase& c, std::ostream* os) { *os << c.name; }

class OpErrors : public ::testing::TestWithParam<ErrCase> {};

TEST_P(OpErrors, ThrowsDocumentedError) {
  const ErrCase& c = GetParam();
  const ErrorCase& ec = all_rows()[c.row].errors[c.index];
  try {
    ec.call();
    ADD_FAILURE() << "expected " << kind_name(ec.kind) << ", nothing was thrown";
  } catch (const Error& e) {
    EXPECT_TRUE(is_kind(e, ec.kind)) << "expected " << kind_name(ec.kind) << ", got: " << e.what();
    for (const std::string& part : ec.expect)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "message \"" << e.what() << "\" lacks \"" << part
                                                                     << "\"";
  }
}

INSTANTIATE_TEST_SUITE_P(Table, OpErrors, ::testing::ValuesIn(error_cases()),
                         [](const ::testing::TestParamInfo<ErrCase>& info) { return sanitize(info.param.name); });

// --- the sentinel guard ------------------------------------------------------------------------
TEST(OpGuard, CatchesAWritePastTheEndOfAnOutputAndNothingElse) {
  SentinelGuard guard;
  {
    Tensor ok = empty({5}, kFloat32);
    for (int i = 0; i < 5; ++i) static_cast<float*>(ok.raw_data_ptr())[i] = 1.0f;  // in bounds
  }
  EXPECT_TRUE(guard.violations().empty());
  {
    Tensor out = empty({5}, kFloat32);
    // What a kernel with an off-by-one bound would do: element 5 of 5. The
    // sentinel bytes are the guard's own, so this write is not undefined.
    static_cast<float*>(out.raw_data_ptr())[5] = 1.0f;
  }
  const std::vector<std::string> v = guard.violations();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_NE(v[0].find("20 bytes"), std::string::npos) << v[0];
  EXPECT_NE(v[0].find("byte 0 past the end"), std::string::npos) << v[0];
}

// --- perf mode -----------------------------------------------------------------------------------
// Every row x device x dtype on its largest sample: mean milliseconds of the
// forward after a warm-up call, timed for at least 20 ms (and at most 200
// calls). A slow kernel shows up next to its neighbours in one table.
TEST(DISABLED_OpPerf, TimesEveryRowOnEveryDevice) {
  std::printf("| row | device | dtype | sample | calls | ms per call |\n|---|---|---|---|---|---|\n");
  for (const OpRow& row : all_rows()) {
    const std::vector<Sample>& samples = samples_of(row);
    size_t largest = 0;
    int64_t most = -1;
    for (size_t i = 0; i < samples.size(); ++i) {
      int64_t n = 0;
      for (const SampleInput& in : samples[i].inputs) n += numel_of(in.shape);
      if (n > most) {
        most = n;
        largest = i;
      }
    }
    const Sample& s = samples[largest];
    for (const std::string& dev : test_devices()) {
      for (DType dt : row.dtypes) {
        if (find_skip(row, dev, dt, s.name)) continue;
        const std::vector<Tensor> inputs = make_inputs(row, s, dt, Device(dev), fnv1a(row.name));
        auto wait = [&] {
          if (dev != "cpu") cuda::synchronize();
        };
        row.fn(inputs, s.attrs);
        wait();
        const auto start = std::chrono::steady_clock::now();
        int calls = 0;
        double ms = 0;
        do {
          row.fn(inputs, s.attrs);
          ++calls;
          wait();
          ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        } while (ms < 20 && calls < 200);
        std::printf("| %s | %s | %s | %s | %d | %.4f |\n", row.name.c_str(), dev.c_str(), dtype_name(dt),
                    s.name.c_str(), calls, ms / calls);
      }
    }
  }
}

// --- coverage ----------------------------------------------------------------------------------------
// Public functions that are tested elsewhere, with where and why.
const std::map<std::string, std::string> kExempt = {
    {"empty", "contents are uninitialised; shape/dtype checked in tests/core/factory_test.cpp"},
    {"empty_like", "contents are uninitialised; tests/core/factory_test.cpp"},
    {"rand", "random: Philox streams pinned in tests/core/random_test.cpp"},
    {"randn", "random: tests/core/random_test.cpp"},
    {"randint", "random: tests/core/random_test.cpp"},
    {"randperm", "random: tests/core/random_test.cpp"},
    {"rand_like", "random: tests/core/random_test.cpp"},
    {"randn_like", "random: tests/core/random_test.cpp"},
    {"bernoulli", "random: tests/core/random_test.cpp"},
    {"tensor", "host data in: tests/core/factory_test.cpp"},
    {"scalar_tensor", "host data in: tests/core/factory_test.cpp"},
    {"from_blob", "wraps caller memory: tests/core/factory_test.cpp"},
};

// Headers in include/kiln/ops whose rows are still to be written, with why.
// A new header not listed here is parsed and must be covered.
const std::map<std::string, std::string> kHeadersWithoutRowsYet = {};

// Names of free functions returning Tensor, std::vector<Tensor> or
// std::tuple<Tensor, Tensor> declared in the public op headers (operators excluded).
std::set<std::string> public_ops() {
  std::set<std::string> names;
  const std::filesystem::path dir = std::filesystem::path(KILN_SOURCE_DIR) / "include" / "kiln" / "ops";
  const std::regex decl(R"(^\s*(?:Tensor|std::vector<Tensor>|std::tuple<Tensor, Tensor>)\s+([a-z_][a-z0-9_]*)\s*\()");
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".h") continue;
    if (kHeadersWithoutRowsYet.count(entry.path().filename().string())) continue;
    std::ifstream f(entry.path());
    EXPECT_TRUE(f.good()) << "cannot read " << entry.path();
    std::string line;
    std::smatch m;
    while (std::getline(f, line))
      if (std::regex_search(line, m, decl)) names.insert(m[1]);
  }
  return names;
}

TEST(OpCoverage, EveryPublicOpHasARowOrAnExemption) {
  std::set<std::string> covered;
  for (const OpRow& r : all_rows()) covered.insert(r.covers.begin(), r.covers.end());
  const std::set<std::string> ops = public_ops();
  EXPECT_GT(ops.size(), 60u) << "the header parser found too few ops";
  for (const std::string& op : ops) {
    EXPECT_TRUE(covered.count(op) || kExempt.count(op)) << "public op '" << op << "' has no row in tests/ops and no "
                                                        << "exemption in kExempt";
  }
  for (const auto& [name, reason] : kExempt) EXPECT_TRUE(ops.count(name)) << "stale exemption: " << name;
}

TEST(OpCoverage, EveryRowHasSamplesDtypesAndUniqueNames) {
  std::set<std::string> names;
  for (const OpRow& r : all_rows()) {
    EXPECT_TRUE(names.insert(r.name).second) << "duplicate row " << r.name;
    EXPECT_FALSE(samples_of(r).empty()) << r.name;
    EXPECT_FALSE(r.dtypes.empty()) << r.name;
    for (const Skip& s : r.skips) EXPECT_FALSE(s.reason.empty()) << r.name << ": a skip needs a reason";
    std::set<std::string> sample_names;
    for (const Sample& s : samples_of(r)) EXPECT_TRUE(sample_names.insert(sanitize(s.name)).second) << r.name << "/" << s.name;
  }
}

}  // namespace
}  // namespace kiln::testing
