#include "dist/nccl_unique_id.h"

#include <cstring>

#include "dist/nccl_check.h"
#include "kiln/ops/factory.h"

namespace kiln::dist::detail {

std::vector<uint8_t> nccl_unique_id(Communicator* bootstrap) {
  KILN_CHECK(bootstrap == nullptr || bootstrap->supports(Device(kCPU)), DeviceError,
             "nccl_unique_id: the bootstrap communicator (", bootstrap ? bootstrap->backend() : "", ") must carry CPU tensors");
  std::vector<uint8_t> bytes(NCCL_UNIQUE_ID_BYTES, 0);
  if (bootstrap == nullptr || bootstrap->rank() == 0) {
    ncclUniqueId id;
    KILN_NCCL_CHECK(ncclGetUniqueId(&id));
    std::memcpy(bytes.data(), &id, sizeof(id));
  }
  if (bootstrap != nullptr && bootstrap->world_size() > 1) {
    Tensor buf = empty({static_cast<int64_t>(bytes.size())}, kUInt8);
    std::memcpy(buf.raw_data_ptr(), bytes.data(), bytes.size());
    bootstrap->broadcast(buf, 0);
    std::memcpy(bytes.data(), buf.raw_data_ptr(), bytes.size());
  }
  return bytes;
}

int nccl_runtime_version() {
  int v = 0;
  KILN_NCCL_CHECK(ncclGetVersion(&v));
  return v;
}

}  // namespace kiln::dist::detail
