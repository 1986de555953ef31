// The op database that drives tests/ops (PyTorch's OpInfo, ggml's
// test-backend-ops): one OpRow per public op, holding the kiln call and an
// independent float64 reference written as plain loops, its samples (inputs
// and attributes only: the non-tensor arguments of the call), the dtypes it
// supports, tolerances, gradcheck settings, documented errors and skips
// (each with a reason).
//
// Rows live in several files (rows_elementwise.cpp, rows_reduce.cpp, ...;
// the ops whose file stem runs through every layer have their own:
// rows_softmax.cpp, rows_cross_entropy.cpp, rows_batch_norm.cpp,
// rows_conv2d.cpp, rows_pool2d.cpp). To add a family: write
// `std::vector<OpRow> my_rows()` in a new tests/ops/rows_<family>.cpp,
// declare it below and add one line to kRowFamilies in op_table.cpp.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include <kiln/kiln.h>

namespace kiln::testing {

// --- reference values: plain row-major doubles ---------------------------------
struct Ref {
  Shape shape;
  std::vector<double> v;
  // The output dtype when it does not follow the row's rule (argmax indices).
  std::optional<DType> dtype;
};
int64_t numel_of(const Shape& s);
Shape contiguous_strides_of(const Shape& s);
std::vector<int64_t> unravel(int64_t i, const Shape& s);
int64_t ravel(const std::vector<int64_t>& idx, const Shape& s);
Shape broadcast(const Shape& a, const Shape& b);
// Element of `r` at `idx` of a (possibly larger) broadcast shape.
double at_broadcast(const Ref& r, const std::vector<int64_t>& idx);
Ref map1(const Ref& a, const std::function<double(double)>& f);
Ref map2(const Ref& a, const Ref& b, const std::function<double(double, double)>& f);
Ref map3(const Ref& a, const Ref& b, const Ref& c, const std::function<double(double, double, double)>& f);
// Folds every group of elements that differ only in `dims` (empty = all).
// f(values of one group) -> result.
Ref reduce_ref(const Ref& a, Shape dims, bool keepdim, const std::function<double(const std::vector<double>&)>& f);
Shape wrap_dims(Shape dims, int64_t ndim);

// --- inputs -----------------------------------------------------------------------
// Where values come from.
enum class Domain {
  Any,       // uniform in [-2, 2] (integers: [-9, 9])
  Positive,  // [0.2, 3] (integers: [1, 9])
  NonZero,   // |x| in [0.3, 2] (integers: +-[1, 9])
  Unit,      // (-0.9, 0.9)
  Large,     // [-1000, 1000] (integers: [-9, 9]): overflows naive exp
};
// How an input tensor is laid out in memory (its values are the same).
enum class Layout {
  Contiguous,
  Transposed,  // last two dims swapped in memory (needs rank >= 2)
  Sliced,      // every other element of a wider buffer along the last dim
  Expanded,    // broadcast from size 1 along the first dim with size > 1 (stride 0)
};

struct SampleInput {
  Shape shape;
  Layout layout = Layout::Contiguous;
  std::optional<Domain> domain;  // overrides the row's domain
  // Fixed contents and dtype (index tensors, bool conditions): not cast to the
  // tested dtype and never differentiated.
  std::optional<std::vector<double>> fixed;
  DType fixed_dtype = kInt64;
};

// A sample's attributes: the non-tensor arguments its row's call and
// reference read (dims, flags, scalars, which overload), by name. Set with
// the two-argument forms, read with the one-argument ones:
//   Attrs().i("dim", 1).b("keepdim", true)   ...   a.i("dim"), a.b("keepdim")
// Reading a missing or differently typed attribute is a test bug and
// throws; b() of a missing flag is false.
class Attrs {
 public:
  Attrs& b(const std::string& key, bool v) { return put(key, v); }
  Attrs& i(const std::string& key, int64_t v) { return put(key, v); }
  Attrs& d(const std::string& key, double v) { return put(key, v); }
  Attrs& s(const std::string& key, std::string v) { return put(key, std::move(v)); }
  Attrs& shape(const std::string& key, Shape v) { return put(key, std::move(v)); }
  Attrs& values(const std::string& key, std::vector<double> v) { return put(key, std::move(v)); }

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  bool b(const std::string& key) const { return has(key) && get<bool>(key); }
  int64_t i(const std::string& key) const { return get<int64_t>(key); }
  double d(const std::string& key) const;  // an int64 attribute reads as a double too
  const std::string& s(const std::string& key) const { return get<std::string>(key); }
  const Shape& shape(const std::string& key) const { return get<Shape>(key); }
  const std::vector<double>& values(const std::string& key) const { return get<std::vector<double>>(key); }
  std::optional<int64_t> opt_i(const std::string& key) const {
    return has(key) ? std::optional<int64_t>(i(key)) : std::nullopt;
  }
  std::optional<double> opt_d(const std::string& key) const {
    return has(key) ? std::optional<double>(d(key)) : std::nullopt;
  }

 private:
  using Value = std::variant<bool, int64_t, double, std::string, Shape, std::vector<double>>;
  template <class T> Attrs& put(const std::string& key, T v) {
    values_[key] = Value(std::move(v));
    return *this;
  }
  template <class T> const T& get(const std::string& key) const;
  std::map<std::string, Value> values_;
};

// A row's call and reference, given one sample's inputs and attributes.
using KilnFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&, const Attrs&)>;
using RefFn = std::function<std::vector<Ref>(const std::vector<Ref>&, const Attrs&)>;

struct Sample {
  std::string name;  // "a[4,7]_b[7]_noncontig"; made from the inputs when empty
  std::vector<SampleInput> inputs;
  Attrs attrs;
  bool differentiable = true;  // false: skip gradcheck for this sample only
};

struct Tolerance {
  double rtol = 0;
  double atol = 0;
};

struct GradcheckSpec {
  bool enabled = false;
  double eps = 1e-6, atol = 1e-5, rtol = 1e-3;
};

// A combination that is known not to work, with the reason (shown by GTEST_SKIP).
struct Skip {
  std::string device;            // "" = any
  std::optional<DType> dtype;    // nullopt = any
  std::string sample_contains;   // "" = any
  std::string reason;
};

// A call that must throw `kind` with a message containing every `expect` string.
enum class ErrorKind { Shape, DType, Device, Value, Index, Autograd };
struct ErrorCase {
  std::string name;
  std::function<void()> call;
  ErrorKind kind;
  std::vector<std::string> expect;
};

struct OpRow {
  std::string name;                         // "add", "softmax"
  std::vector<std::string> covers;          // public functions it tests (defaults to {name})
  KilnFn fn;                                // the public function(s), called with a sample
  RefFn ref;                                // the float64 reference of fn
  std::function<std::vector<Sample>()> samples;
  std::vector<DType> dtypes;
  Domain domain = Domain::Any;
  // Output dtype for input dtype t (default: t).
  std::function<DType(DType)> out_dtype;
  std::vector<std::pair<DType, Tolerance>> tolerances;  // overrides of default_tolerance
  GradcheckSpec grad;
  std::vector<Skip> skips;
  std::vector<ErrorCase> errors;
};

Tolerance default_tolerance(DType t);
Tolerance tolerance_for(const OpRow& row, DType t);
const Skip* find_skip(const OpRow& row, const std::string& device, DType dtype, const std::string& sample);

// Dtype sets.
std::vector<DType> floating_dtypes();              // f32 f64 f16 bf16
std::vector<DType> numeric_dtypes();               // floating + int32 int64
DType same_dtype(DType t);
DType bool_dtype(DType t);
DType int64_dtype(DType t);
DType float_or_same(DType t);  // integers -> float32

// Makes the input tensor for one sample input: values from `rng` (or fixed)
// in dtype `dtype` on `device`, laid out as the input says.
Tensor make_input(const SampleInput& in, Domain row_domain, DType dtype, const Device& device, std::mt19937& rng);
// The logical contents of a tensor as a Ref (for the reference).
Ref to_ref(const Tensor& t);
// "a[4,7]_b[7]_noncontig"
std::string describe_inputs(const std::vector<SampleInput>& inputs, const std::string& extra = "");
// gtest allows only [A-Za-z0-9_] in names.
std::string sanitize(const std::string& s);

// --- the families ---------------------------------------------------------------------
std::vector<OpRow> elementwise_rows();
std::vector<OpRow> multi_tensor_norm_rows();
std::vector<OpRow> reduction_rows();
std::vector<OpRow> linalg_rows();
std::vector<OpRow> indexing_rows();
std::vector<OpRow> shape_rows();
std::vector<OpRow> factory_rows();
std::vector<OpRow> nn_rows();
std::vector<OpRow> softmax_rows();
std::vector<OpRow> cross_entropy_rows();
std::vector<OpRow> batch_norm_rows();
std::vector<OpRow> conv2d_rows();
std::vector<OpRow> pool2d_rows();
std::vector<OpRow> layer_norm_rows();
std::vector<OpRow> embedding_rows();
std::vector<OpRow> attention_rows();
std::vector<OpRow> cumsum_rows();
std::vector<OpRow> sort_rows();
std::vector<OpRow> multinomial_rows();
std::vector<OpRow> masked_fill_rows();
std::vector<OpRow> image_rows();  // conv_transpose2d, pad, interpolate, group_norm

// Every row of every family (built once).
const std::vector<OpRow>& all_rows();
// Samples of a row with unique names (built once per row).
const std::vector<Sample>& samples_of(const OpRow& row);

}  // namespace kiln::testing
