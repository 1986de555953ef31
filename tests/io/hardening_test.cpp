// Regression tests for issue 12's file-format defects, each with the input
// that showed it (the same inputs live in tests/fuzz/regressions/):
// zero-element safetensors shapes whose strides overflow int64, deeply nested
// JSON headers, unbounded values printed into messages, and restored
// counters that overflow on the next step or are negative.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <kiln/io/io.h>
#include <kiln/kiln.h>
#include <kiln/optim/optim.h>

namespace {

using kiln::Tensor;
namespace io = kiln::io;
namespace optim = kiln::optim;

// A safetensors file with the given header text and `data` after it.
std::string with_header(std::string header, const std::string& data = "") {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

// The IOError message load gives for `bytes` ("no error" / "another error: ..." otherwise).
std::string load_error(const std::string& bytes) {
  try {
    io::deserialize_safetensors(bytes, kiln::kCPU, "test.safetensors");
  } catch (const kiln::IOError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("another error: ") + e.what();
  }
  return "no error";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(SafetensorsHardening, ZeroElementShapeWithHugeDimsIsIOError) {
  const std::string msg = load_error(with_header(
      R"({"t":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})"));
  EXPECT_TRUE(contains(msg, "test.safetensors")) << msg;
  EXPECT_TRUE(contains(msg, "tensor \"t\"")) << msg;
  EXPECT_TRUE(contains(msg, "overflows a 64-bit integer")) << msg;
  // A representable zero-element shape still loads.
  auto ok = io::deserialize_safetensors(
      with_header(R"({"t":{"dtype":"F32","shape":[0,2147483648,2147483648],"data_offsets":[0,0]}})"));
  EXPECT_EQ(ok.tensors.at("t").numel(), 0);
}

std::string nested_shape(int levels) {
  return R"({"t":{"dtype":"F32","shape":)" + std::string(levels, '[') + std::string(levels, ']') +
         R"(,"data_offsets":[0,0]}})";
}

TEST(SafetensorsHardening, DeeplyNestedHeaderIsRejectedWithoutRecursing) {
  // 200 KB of nested arrays used to overflow the stack when the error message printed them.
  const std::string msg = load_error(with_header(nested_shape(100000)));
  EXPECT_TRUE(contains(msg, "nested more than 64 levels deep")) << msg.substr(0, 300);
  // The limit: 64 levels in all parse (the shape is then refused for what it holds) ...
  const std::string at_limit = load_error(with_header(nested_shape(62)));  // + the root and "t": 64
  EXPECT_TRUE(contains(at_limit, "must hold non-negative integers")) << at_limit.substr(0, 300);
  // ... 65 do not.
  EXPECT_TRUE(contains(load_error(with_header(nested_shape(63))), "nested more than 64 levels"));
  const std::string objects = R"({"__metadata__":{"k":)" + [] {
    std::string s;
    for (int i = 0; i < 20000; ++i) s += R"({"a":)";
    return s + "1" + std::string(20000, '}');
  }() + "}}";
  EXPECT_TRUE(contains(load_error(with_header(objects)), "nested more than 64 levels"));
}

TEST(SafetensorsHardening, MessagesClipValuesTheyQuote) {
  const std::string long_name(1 << 20, 'n');
  const std::string bad_dtype = load_error(
      with_header(R"({")" + long_name + R"(":{"dtype":"X","shape":[],"data_offsets":[0,0]}})"));
  EXPECT_TRUE(contains(bad_dtype, "unsupported dtype")) << bad_dtype.substr(0, 300);
  EXPECT_TRUE(contains(bad_dtype, "(1048576 bytes)")) << bad_dtype.substr(0, 300);
  EXPECT_LT(bad_dtype.size(), 1000u);
  const std::string big_array = "[" + [] {
    std::string s = "0";
    for (int i = 0; i < 100000; ++i) s += ",0";
    return s;
  }() + "]";
  const std::string meta = load_error(with_header(R"({"__metadata__":{"k":)" + big_array + "}}"));
  EXPECT_TRUE(contains(meta, "must be a string")) << meta.substr(0, 300);
  EXPECT_LT(meta.size(), 1000u);
  const std::string shape =
      load_error(with_header(R"({"t":{"dtype":"F32","shape":)" + big_array + R"(,"data_offsets":[0,1]}})"));
  EXPECT_LT(shape.size(), 1000u) << shape.substr(0, 300);
}

// --- restored counters ------------------------------------------------------------

struct TrainedAdam {
  Tensor w = kiln::zeros({2}).requires_grad_();
  optim::Adam adam{{w}, optim::AdamOptions(0.1)};
  optim::StepLR sched{adam, 2};
  TrainedAdam() {
    w.set_grad(kiln::ones({2}));
    adam.step();
    sched.step();
  }
};

std::string value_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const kiln::ValueError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("another error: ") + e.what();
  }
  return "no error";
}

TEST(CounterValidation, OptimizerStepMustBeAWholeNumberInRange) {
  TrainedAdam s;
  const optim::OptimizerState good = s.adam.state_dict();
  ASSERT_EQ(good.metadata.at("state.0.step"), "1");
  for (const char* bad : {"9223372036854775807", "-1", "9007199254740993", "1.5", "abc", ""}) {
    optim::OptimizerState st = good;
    st.metadata["state.0.step"] = bad;
    const std::string msg = value_error([&] { s.adam.load_state_dict(st); });
    EXPECT_TRUE(contains(msg, "Adam.load_state_dict")) << bad << ": " << msg;
    EXPECT_TRUE(contains(msg, "\"state.0.step\" must be a whole number in [0, 2^53]")) << bad << ": " << msg;
  }
  // The state is untouched by a refused load, and the bound itself is accepted.
  EXPECT_EQ(s.adam.state_dict().metadata.at("state.0.step"), "1");
  optim::OptimizerState edge = good;
  edge.metadata["state.0.step"] = "9007199254740992";
  s.adam.load_state_dict(edge);
  s.adam.step();
  EXPECT_EQ(s.adam.state_dict().metadata.at("state.0.step"), "9007199254740993");
}

TEST(CounterValidation, SchedulerLastEpochMustBeAWholeNumberInRange) {
  TrainedAdam s;
  const optim::SchedulerState good = s.sched.state_dict();
  for (const char* bad : {"9223372036854775807", "-5"}) {
    optim::SchedulerState st = good;
    st["last_epoch"] = bad;
    const std::string msg = value_error([&] { s.sched.load_state_dict(st); });
    EXPECT_TRUE(contains(msg, "StepLR.load_state_dict: \"last_epoch\" must be a whole number")) << msg;
  }
  EXPECT_EQ(s.sched.last_epoch(), 1);
}

TEST(CounterValidation, CheckpointStepAndEpochMustBeInRange) {
  char tmpl[] = "/tmp/kiln_counter_test_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string path = dir + "/c.safetensors";
  for (const char* key : {"step", "epoch"}) {
    io::Metadata meta = {{"kiln.checkpoint", "1"}, {"step", "1"}, {"epoch", "1"}, {"rng.seed", "1"}, {"rng.offset", "1"}};
    meta[key] = "-1";
    io::save_safetensors(path, {}, meta);
    try {
      io::load_checkpoint(path);
      ADD_FAILURE() << "a negative " << key << " loaded";
    } catch (const kiln::IOError& e) {
      EXPECT_TRUE(contains(e.what(), std::string("\"") + key + "\" must be a whole number")) << e.what();
    }
  }
  std::remove(path.c_str());
  ::rmdir(dir.c_str());
}

TEST(CounterValidation, MessagesClipTheValueTheyQuote) {
  TrainedAdam s;
  optim::OptimizerState st = s.adam.state_dict();
  st.metadata["state.0.step"] = std::string(1 << 20, '7');
  EXPECT_LT(value_error([&] { s.adam.load_state_dict(st); }).size(), 600u);
}

}  // namespace
