#include "kiln/core/device.h"

#include <cctype>

#include "kiln/core/error.h"

namespace kiln {

Device::Device(DeviceType type, int index) : type_(type), index_(type == DeviceType::CPU ? 0 : index) {
  KILN_CHECK(index >= 0, ValueError, "Device: index must be non-negative, got ", index);
}

Device::Device(const std::string& spec) : type_(DeviceType::CPU), index_(0) {
  if (spec == "cpu") return;
  const std::string prefix = "cuda";
  KILN_CHECK(spec.compare(0, prefix.size(), prefix) == 0, ValueError, "Device: cannot parse '", spec,
             "' (expected \"cpu\", \"cuda\" or \"cuda:N\")");
  type_ = DeviceType::CUDA;
  if (spec.size() == prefix.size()) return;
  KILN_CHECK(spec[prefix.size()] == ':' && spec.size() > prefix.size() + 1, ValueError, "Device: cannot parse '",
             spec, "' (expected \"cuda:N\")");
  int idx = 0;
  for (size_t i = prefix.size() + 1; i < spec.size(); ++i) {
    KILN_CHECK(std::isdigit(static_cast<unsigned char>(spec[i])) && idx < 100000, ValueError,
               "Device: cannot parse '", spec, "' (expected \"cuda:N\")");
    idx = idx * 10 + (spec[i] - '0');
  }
  index_ = idx;
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index_); }

std::ostream& operator<<(std::ostream& os, const Device& d) { return os << d.str(); }

}  // namespace kiln
