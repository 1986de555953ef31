// Elementwise playground: add (binary), relu / tanh / gelu (unary) on one
// contiguous array of 64M elements, f32 and bf16.
//
// Versions, all validated against a host f64 reference before timing:
//   naive            one element per thread, scalar loads (llm.c "version 1")
//   kiln             the production launcher kernels::launch_binary / launch_unary
//                    (16-byte vector path of kernels/common/map.cuh)
//   cudnn            cudnnOpTensor (add) / cudnnActivationForward (relu, tanh);
//                    gelu has no cuDNN activation, so no reference there
// GB/s = (inputs + 1 output) * n * sizeof(T) / (ms * 1e6); pct_of_ceiling
// against the measured cudaMemcpy device-to-device rate; ratio_vs_ref =
// cudnn ms / version ms. Output: JSON lines, then a Markdown table.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "functors/elementwise.h"
#include "bench_inputs.cuh"
#include "kernel_bench.cuh"
#include "kernels.h"
#include "kiln/core/half.h"

namespace {

using kiln::BFloat16;
namespace kk = kiln::kernels;

constexpr int64_t kN = int64_t(1) << 26;

template <class T> double tolerance() { return sizeof(T) == 4 ? 1e-5 : 1e-2; }

template <class T, class F>
__global__ void naive_unary(const T* x, T* y, int64_t n, F f) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = static_cast<T>(f(static_cast<float>(x[i])));
}
template <class T>
__global__ void naive_add(const T* a, const T* b, T* c, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) c[i] = static_cast<T>(static_cast<float>(a[i]) + static_cast<float>(b[i]));
}

kk::StridedArray flat(void* p, kiln::DType dt, int64_t n) {
  kk::StridedArray a;
  a.data = p;
  a.dtype = dt;
  a.ndim = 1;
  a.sizes[0] = n;
  a.strides[0] = 1;
  return a;
}

template <class T>
std::vector<double> to_host(const T* d, int64_t n) {
  std::vector<T> h(n);
  BENCH_CUDA(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return std::vector<double>(h.begin(), h.end());
}

template <class T>
T* upload_random(int64_t n, uint64_t seed, std::vector<double>& rounded) {
  std::vector<T> h(n);
  rounded.resize(n);
  bench::Lcg rng(seed);
  for (int64_t i = 0; i < n; ++i) {
    const float v = rng.uniform(-4.0f, 4.0f);
    h[i] = static_cast<T>(v);
    rounded[i] = static_cast<float>(h[i]);
  }
  T* d = nullptr;
  BENCH_CUDA(cudaMalloc(&d, n * sizeof(T)));
  BENCH_CUDA(cudaMemcpy(d, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

struct Version {
  std::string name;
  std::function<void()> run;
};

// Validates every version, then times the valid ones.
template <class T>
void run_versions(bench::Report& report, const std::string& op, const std::vector<Version>& versions, T* out,
                  const std::vector<double>& want, double bytes) {
  const std::string shape = op + "[" + std::to_string(kN) + "]";
  bool have_ref = false;
  for (const Version& v : versions) {
    BENCH_CUDA(cudaMemset(out, 0xff, kN * sizeof(T)));  // NaN poison
    v.run();
    BENCH_CUDA(cudaDeviceSynchronize());
    if (!bench::validate((op + "/" + v.name).c_str(), to_host(out, kN), want, tolerance<T>(), tolerance<T>())) continue;
    report.add(v.name, shape, bench::dtype_label<T>(), bench::median_ms(v.run), bytes);
    have_ref = have_ref || v.name == "cudnn";
  }
  if (have_ref) report.set_reference(shape, bench::dtype_label<T>(), "cudnn");
}

struct ReluF {
  __device__ float operator()(float x) const { return kiln::functors::Relu{}(x); }
};
struct TanhF {
  __device__ float operator()(float x) const { return kiln::functors::Tanh{}(x); }
};
struct GeluF {
  __device__ float operator()(float x) const { return kiln::functors::GeluTanh{}(x); }
};

template <class T>
void bench_dtype(bench::Report& report, cudnnHandle_t handle) {
  std::vector<double> ha, hb;
  T* a = upload_random<T>(kN, 1, ha);
  T* b = upload_random<T>(kN, 2, hb);
  T* c = nullptr;
  BENCH_CUDA(cudaMalloc(&c, kN * sizeof(T)));
  const kiln::DType dt = bench::kiln_dtype<T>();
  const unsigned blocks = static_cast<unsigned>((kN + 255) / 256);

  cudnnTensorDescriptor_t desc;
  BENCH_CUDNN(cudnnCreateTensorDescriptor(&desc));
  const bool desc_ok = BENCH_CUDNN_OK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, bench::cudnn_dtype<T>(), 1,
                                                                 static_cast<int>(kN), 1, 1));
  const float one = 1.0f, zero = 0.0f;

  // --- add -------------------------------------------------------------------------
  {
    std::vector<double> want(kN);
    for (int64_t i = 0; i < kN; ++i) want[i] = static_cast<float>(static_cast<T>(static_cast<float>(ha[i] + hb[i])));
    std::vector<Version> versions = {
        {"naive", [&] { naive_add<T><<<blocks, 256>>>(a, b, c, kN); }},
        {"kiln", [&] { kk::launch_binary(kk::BinaryOp::Add, flat(a, dt, kN), flat(b, dt, kN), flat(c, dt, kN), nullptr); }},
    };
    cudnnOpTensorDescriptor_t op_desc;
    BENCH_CUDNN(cudnnCreateOpTensorDescriptor(&op_desc));
    if (desc_ok && BENCH_CUDNN_OK(cudnnSetOpTensorDescriptor(op_desc, CUDNN_OP_TENSOR_ADD, CUDNN_DATA_FLOAT,
                                                              CUDNN_NOT_PROPAGATE_NAN)))
      versions.push_back({"cudnn", [&] {
                            if (!BENCH_CUDNN_OK(cudnnOpTensor(handle, op_desc, &one, desc, a, &one, desc, b, &zero,
                                                              desc, c)))
                              std::fprintf(stderr, "# cudnnOpTensor refused %s\n", bench::dtype_label<T>());
                          }});
    run_versions<T>(report, "add", versions, c, want, 3.0 * kN * sizeof(T));
    cudnnDestroyOpTensorDescriptor(op_desc);
  }

  // --- unary: relu, tanh (with cuDNN), gelu (tanh approximation, kiln only) --------
  struct Unary {
    const char* name;
    kk::UnaryOp op;
    bool has_cudnn;
    cudnnActivationMode_t mode;
  };
  const Unary unaries[] = {{"relu", kk::UnaryOp::Relu, true, CUDNN_ACTIVATION_RELU},
                           {"tanh", kk::UnaryOp::Tanh, true, CUDNN_ACTIVATION_TANH},
                           {"gelu_tanh", kk::UnaryOp::GeluTanh, false, CUDNN_ACTIVATION_IDENTITY}};
  for (const Unary& u : unaries) {
    std::vector<double> want(kN);
    for (int64_t i = 0; i < kN; ++i) {
      const double x = ha[i];
      double y = u.op == kk::UnaryOp::Relu ? (x > 0 ? x : 0)
                 : u.op == kk::UnaryOp::Tanh
                     ? std::tanh(x)
                     : 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
      want[i] = static_cast<float>(static_cast<T>(static_cast<float>(y)));
    }
    std::vector<Version> versions;
    if (u.op == kk::UnaryOp::Relu) versions.push_back({"naive", [&] { naive_unary<T><<<blocks, 256>>>(a, c, kN, ReluF{}); }});
    if (u.op == kk::UnaryOp::Tanh) versions.push_back({"naive", [&] { naive_unary<T><<<blocks, 256>>>(a, c, kN, TanhF{}); }});
    if (u.op == kk::UnaryOp::GeluTanh) versions.push_back({"naive", [&] { naive_unary<T><<<blocks, 256>>>(a, c, kN, GeluF{}); }});
    versions.push_back({"kiln", [&] { kk::launch_unary(u.op, flat(a, dt, kN), flat(c, dt, kN), {}, nullptr); }});
    cudnnActivationDescriptor_t act;
    BENCH_CUDNN(cudnnCreateActivationDescriptor(&act));
    if (u.has_cudnn && desc_ok &&
        BENCH_CUDNN_OK(cudnnSetActivationDescriptor(act, u.mode, CUDNN_PROPAGATE_NAN, 0.0)))
      versions.push_back({"cudnn", [&] {
                            if (!BENCH_CUDNN_OK(cudnnActivationForward(handle, act, &one, desc, a, &zero, desc, c)))
                              std::fprintf(stderr, "# cudnnActivationForward refused %s\n", bench::dtype_label<T>());
                          }});
    run_versions<T>(report, u.name, versions, c, want, 2.0 * kN * sizeof(T));
    cudnnDestroyActivationDescriptor(act);
  }
  cudnnDestroyTensorDescriptor(desc);
  BENCH_CUDA(cudaFree(a));
  BENCH_CUDA(cudaFree(b));
  BENCH_CUDA(cudaFree(c));
}

}  // namespace

int main() {
  if (!bench::gpu_present()) {
    std::printf("# bench_elementwise: skipped: no CUDA device\n");
    return 0;
  }
  bench::Report report("elementwise");
  cudnnHandle_t handle;
  BENCH_CUDNN(cudnnCreate(&handle));
  bench_dtype<float>(report, handle);
  bench_dtype<BFloat16>(report, handle);
  cudnnDestroy(handle);
  report.print();
  return 0;
}
