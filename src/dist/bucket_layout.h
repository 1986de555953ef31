// Which parameters share a gradient bucket, and where each one lives in the
// flat buffers. Pure arithmetic, so it is tested without any communicator.
//
// Parameters are taken in reverse registration order (backward tends to
// produce the last layer's gradients first). Each (dtype, group) key fills
// one open bucket at a time; a bucket closes once it holds at least its cap
// in bytes: first_cap for the first bucket of a key (a small bucket starts
// communicating early), cap after that. Buckets are numbered in the order
// they were opened, and laid out in that order in the flat buffer of their
// dtype. Every parameter starts on an `align`-element boundary, and every
// bucket's length is a multiple of `multiple` elements (so a bucket splits
// into world_size equal, aligned shards for ZeRO-1).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "kiln/core/dtype.h"

namespace kiln::dist::detail {

struct ParamSpec {
  int64_t numel = 0;
  DType dtype = kFloat32;
  int group = 0;
};

struct PlannedBucket {
  DType dtype = kFloat32;
  int group = 0;
  std::vector<size_t> params;  // indices into the ParamSpec list, in bucket order
  int64_t offset = 0;          // in the flat buffer of `dtype`
  int64_t numel = 0;           // padded length
};

struct BucketPlan {
  std::vector<PlannedBucket> buckets;
  std::vector<int64_t> param_offset;  // flat-buffer offset of each parameter
  std::vector<size_t> param_bucket;   // bucket of each parameter
  std::map<DType, int64_t> buffer_numel;  // length of each dtype's flat buffer
};

BucketPlan plan_buckets(const std::vector<ParamSpec>& params, size_t first_cap_bytes, size_t cap_bytes,
                        int64_t align, int64_t multiple);

}  // namespace kiln::dist::detail
