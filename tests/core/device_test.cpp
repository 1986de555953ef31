// Device parsing, and what CUDA calls do on a machine (or build) without a GPU.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

namespace kiln {
namespace {

TEST(Device, ParsesCpuCudaAndCudaN) {
  EXPECT_TRUE(Device("cpu").is_cpu());
  EXPECT_EQ(Device("cuda").type(), kCUDA);
  EXPECT_EQ(Device("cuda").index(), 0);
  EXPECT_EQ(Device("cuda:3").index(), 3);
  EXPECT_EQ(Device("cuda:12").str(), "cuda:12");
  EXPECT_EQ(Device(kCUDA, 1), Device("cuda:1"));
  EXPECT_NE(Device("cuda:0"), Device("cpu"));
  EXPECT_EQ(Device().str(), "cpu");
  std::ostringstream os;
  os << Device("cuda:2");
  EXPECT_EQ(os.str(), "cuda:2");
}

TEST(Device, RejectsMalformedSpecsWithValueError) {
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda0", "", "CUDA", "cuda:1a"}) {
    try {
      Device d(bad);
      ADD_FAILURE() << "'" << bad << "' parsed as " << d;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(Device(kCUDA, -1), ValueError);
}

TEST(CudaWithoutGpu, QueriesSayUnavailable) {
  if (cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_FALSE(cuda::is_available());
  EXPECT_EQ(cuda::device_count(), 0);
  EXPECT_FALSE(cuda::unavailable_reason().empty());
  EXPECT_NO_THROW(cuda::synchronize());
  EXPECT_THROW(cuda::get_device_properties(0), DeviceError);
}

TEST(CudaWithoutGpu, CreatingACudaTensorThrowsDeviceError) {
  if (cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  try {
    zeros({2, 3}, Device("cuda:0"));
    ADD_FAILURE() << "no exception";
  } catch (const DeviceError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cuda"), std::string::npos) << msg;
  }
  EXPECT_THROW(ones({2}).to("cuda:0"), DeviceError);
  EXPECT_THROW(ones({2}).cuda(), DeviceError);
  EXPECT_THROW(randn({2}, TensorOptions(kFloat32).device("cuda")), DeviceError);
  EXPECT_THROW(empty({0}, kCUDA), DeviceError) << "even an empty tensor needs the device";
}

TEST(CudaWithoutGpu, AfterAFailedCudaCallCpuWorkStillRuns) {
  if (cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_THROW(zeros({4}, "cuda:0"), DeviceError);
  EXPECT_EQ((ones({3}) * 2).sum().item<float>(), 6.0f);
}

}  // namespace
}  // namespace kiln
