#include "dist/bucket_layout.h"

#include <numeric>

#include "kiln/core/error.h"

namespace kiln::dist::detail {

namespace {
int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }
}  // namespace

BucketPlan plan_buckets(const std::vector<ParamSpec>& params, size_t first_cap_bytes, size_t cap_bytes,
                        int64_t align, int64_t multiple) {
  KILN_INTERNAL_ASSERT(align >= 1 && multiple >= 1, "align ", align, ", multiple ", multiple);
  // A bucket's length keeps the next bucket aligned as well.
  multiple = std::lcm(multiple, align);
  BucketPlan plan;
  plan.param_offset.assign(params.size(), 0);
  plan.param_bucket.assign(params.size(), 0);
  std::vector<int64_t> in_bucket(params.size(), 0);  // offset inside the bucket

  struct Open {
    size_t bucket;
    int64_t used;  // elements so far, alignment included
  };
  std::map<std::pair<DType, int>, Open> open;
  std::map<std::pair<DType, int>, int> closed_count;
  for (size_t k = params.size(); k-- > 0;) {
    const ParamSpec& p = params[k];
    const auto key = std::make_pair(p.dtype, p.group);
    auto it = open.find(key);
    if (it == open.end()) {
      PlannedBucket b;
      b.dtype = p.dtype;
      b.group = p.group;
      plan.buckets.push_back(b);
      it = open.emplace(key, Open{plan.buckets.size() - 1, 0}).first;
    }
    PlannedBucket& b = plan.buckets[it->second.bucket];
    const int64_t at = round_up(it->second.used, align);
    in_bucket[k] = at;
    it->second.used = at + p.numel;
    b.params.push_back(k);
    plan.param_bucket[k] = it->second.bucket;
    const size_t cap = closed_count[key] == 0 ? first_cap_bytes : cap_bytes;
    if (static_cast<size_t>(it->second.used) * element_size(p.dtype) >= cap) {
      b.numel = round_up(it->second.used, multiple);
      ++closed_count[key];
      open.erase(it);
    }
  }
  for (auto& [key, o] : open) plan.buckets[o.bucket].numel = round_up(o.used, multiple);

  for (PlannedBucket& b : plan.buckets) {
    int64_t& end = plan.buffer_numel[b.dtype];
    b.offset = end;
    end += b.numel;
    for (size_t k : b.params) plan.param_offset[k] = b.offset + in_bucket[k];
  }
  return plan;
}

}  // namespace kiln::dist::detail
