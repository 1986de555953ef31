// DistributedDataParallel and ZeRO-1 in a world of one process (the local
// communicator): the flat buffers, gradient views, hooks, no_sync and the
// state conversions, without MPI. The multi-rank behaviour is in tests/dist/mpi/.
#include <gtest/gtest.h>

#include "dist_test_util.h"
#include "kiln/dist/dist.h"

namespace kiln::dist {
namespace {

using namespace kiln::testing::dist_util;

std::shared_ptr<Communicator> local() { return make_local_communicator(); }

TEST(DdpLocal, LocalCommunicatorCollectivesAreTheIdentity) {
  auto c = local();
  Tensor t = tensor({1.0f, -2.0f, 3.0f});
  c->all_reduce(t, ReduceOp::Avg);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, -2, 3}));
  Tensor out = zeros({3});
  c->all_gather(out, t);
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{1, -2, 3}));
  Tensor rs = zeros({3});
  c->reduce_scatter(rs, t);
  EXPECT_EQ(rs.to_vector<float>(), (std::vector<float>{1, -2, 3}));
  c->barrier();
  EXPECT_TRUE(c->all_reduce_async(t).is_completed());
}

TEST(DdpLocal, CollectiveArgumentErrors) {
  auto c = local();
  Tensor m = zeros({3, 4});
  EXPECT_THROW(c->all_reduce(m.t()), ValueError) << "not contiguous";
  EXPECT_THROW(c->all_reduce(zeros({2}, kInt64), ReduceOp::Avg), DTypeError);
  EXPECT_THROW(c->all_reduce(zeros({2}, kBool)), DTypeError);
  EXPECT_THROW(c->all_gather(zeros({4}), zeros({3})), ShapeError);
  EXPECT_THROW(c->all_gather(zeros({3}, kFloat64), zeros({3})), DTypeError);
  EXPECT_THROW(c->broadcast(zeros({3}), 1), ValueError) << "root outside the world";
  EXPECT_THROW(c->all_reduce(Tensor()), ValueError);
}

TEST(DdpLocal, ParametersAndGradientsAreViewsOfTheFlatBuffers) {
  auto model = make_mlp(7);
  const StateDict before = model->state_dict();
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(64).bucket_cap_bytes(1024), local());
  // Values survive the move into the flat buffer.
  for (const auto& [name, t] : model->state_dict())
    EXPECT_EQ(t.to_vector<float>(), before.at(name).to_vector<float>()) << name;
  const auto params = model->parameters();
  for (size_t i = 1; i < params.size(); ++i) EXPECT_TRUE(params[i].shares_storage(params[0]));
  ASSERT_GE(ddp.buckets().size(), 2u) << "small caps give several buckets";
  EXPECT_EQ(ddp.buckets()[0].params.front(), "4.bias") << "reverse registration order";

  Batches data = make_batches(1, 8);
  Tensor loss = loss_of(*model, data.x[0], data.y[0]);
  loss.backward();
  const auto grads = model->parameters();
  for (size_t i = 1; i < grads.size(); ++i) EXPECT_TRUE(grads[i].grad().shares_storage(grads[0].grad()));
  EXPECT_EQ(ddp.sync_count(), 1);
  EXPECT_EQ(ddp.last_timing().buckets, static_cast<int64_t>(ddp.buckets().size()));
}

TEST(DdpLocal, TrainsExactlyLikeThePlainModel) {
  const Batches data = make_batches(6, 16);
  auto reference = train_reference(data, 3, adam_factory());
  auto model = make_mlp(3);
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(64).bucket_cap_bytes(512), local());
  auto opt = adam_factory()(model->parameters());
  for (size_t s = 0; s < data.x.size(); ++s) {
    Tensor loss = loss_of(*model, data.x[s], data.y[s]);
    opt->zero_grad(s % 2 == 0);  // both ways of clearing
    loss.backward();
    opt->step();
  }
  EXPECT_EQ(max_abs_diff(*model, *reference), 0.0) << "a world of one changes nothing";
}

TEST(DdpLocal, NoSyncAccumulatesAndTheNextBackwardSyncs) {
  auto model = make_mlp(3);
  DistributedDataParallel ddp(model, {}, local());
  Batches data = make_batches(2, 8);
  {
    auto guard = ddp.no_sync();
    EXPECT_FALSE(ddp.sync_enabled());
    loss_of(*model, data.x[0], data.y[0]).backward();
  }
  EXPECT_TRUE(ddp.sync_enabled());
  EXPECT_EQ(ddp.sync_count(), 0);
  loss_of(*model, data.x[1], data.y[1]).backward();
  EXPECT_EQ(ddp.sync_count(), 1);

  auto plain = make_mlp(3);
  loss_of(*plain, data.x[0], data.y[0]).backward();
  loss_of(*plain, data.x[1], data.y[1]).backward();
  const auto a = model->parameters(), b = plain->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TENSOR_CLOSE(a[i].grad(), b[i].grad(), 1e-6, 1e-7);
}

TEST(DdpLocal, AutogradGradLeavesTheBucketsAlone) {
  auto model = make_mlp(3);
  DistributedDataParallel ddp(model, {}, local());
  Batches data = make_batches(1, 4);
  const auto params = model->parameters();
  auto g = autograd::grad({loss_of(*model, data.x[0], data.y[0])}, params);
  EXPECT_EQ(g.size(), params.size());
  EXPECT_EQ(ddp.sync_count(), 0);
  for (const auto& p : params) EXPECT_FALSE(p.grad().defined());
  loss_of(*model, data.x[0], data.y[0]).backward();  // and backward still syncs afterwards
  EXPECT_EQ(ddp.sync_count(), 1);
  EXPECT_TENSOR_CLOSE(params[0].grad(), g[0], 1e-6, 1e-7);
}

TEST(DdpLocal, ReplacingAParameterAfterWrappingIsAnError) {
  auto model = make_mlp(3);
  DistributedDataParallel ddp(model, {}, local());
  model->to(kFloat64);
  Batches data = make_batches(1, 4);
  Tensor loss = cross_entropy(model->forward(data.x[0].to(kFloat64)), data.y[0]);
  EXPECT_THROW(loss.backward(), ValueError);
}

TEST(DdpLocal, ZeroOneMatchesThePlainOptimizerAndConvertsState) {
  const Batches data = make_batches(6, 16);
  auto reference = train_reference(data, 5, sgd_factory());
  auto model = make_mlp(5);
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(64).bucket_cap_bytes(512), local());
  ZeroRedundancyOptimizer opt(ddp, [](std::vector<optim::OptimizerParamGroup> g) {
    return std::make_unique<optim::SGD>(std::move(g), optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
  });
  EXPECT_THROW(opt.step(), ValueError) << "no backward yet";
  for (size_t s = 0; s < 3; ++s) {
    Tensor loss = loss_of(*model, data.x[s], data.y[s]);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  // Per-parameter state, loadable by a plain SGD over another copy of the model.
  const optim::OptimizerState saved = opt.state_dict();
  EXPECT_EQ(saved.metadata.at("optimizer"), "SGD");
  EXPECT_EQ(saved.tensors.size(), model->parameters().size());
  auto plain_model = make_mlp(99);
  plain_model->load_state_dict(model->state_dict());
  auto plain_opt = sgd_factory()(plain_model->parameters());
  plain_opt->load_state_dict(saved);
  // And back: ZeRO-1 over a third copy resumes from the plain optimizer's state.
  auto zero_model = make_mlp(98);
  zero_model->load_state_dict(model->state_dict());
  DistributedDataParallel ddp3(zero_model, DDPOptions().first_bucket_cap_bytes(64).bucket_cap_bytes(256), local());
  ZeroRedundancyOptimizer opt3(ddp3, [](std::vector<optim::OptimizerParamGroup> g) {
    return std::make_unique<optim::SGD>(std::move(g), optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
  });
  opt3.load_state_dict(plain_opt->state_dict());
  EXPECT_THROW(ZeroRedundancyOptimizer(ddp, [](std::vector<optim::OptimizerParamGroup> g) {
                 return std::make_unique<optim::SGD>(std::move(g), optim::SGDOptions(0.5));
               }),
               ValueError)
      << "one ZeRO optimizer per DistributedDataParallel";
  for (size_t s = 3; s < data.x.size(); ++s) {
    Tensor loss = loss_of(*model, data.x[s], data.y[s]);
    opt.zero_grad();
    loss.backward();
    opt.step();
    Tensor l2 = loss_of(*plain_model, data.x[s], data.y[s]);
    plain_opt->zero_grad();
    l2.backward();
    plain_opt->step();
    Tensor l3 = loss_of(*zero_model, data.x[s], data.y[s]);
    opt3.zero_grad();
    l3.backward();
    opt3.step();
  }
  EXPECT_LT(max_abs_diff(*model, *reference), 1e-6);
  EXPECT_LT(max_abs_diff(*plain_model, *reference), 1e-6) << "ZeRO-1 state resumed without ZeRO";
  EXPECT_LT(max_abs_diff(*zero_model, *reference), 1e-6) << "plain state resumed with ZeRO-1";
}

TEST(DdpLocal, ZeroStateRoundTripsThroughAPlainOptimizer) {
  const Batches data = make_batches(4, 16);
  auto model = make_mlp(5);
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(64).bucket_cap_bytes(512), local());
  auto make = [](std::vector<optim::OptimizerParamGroup> g) {
    return std::make_unique<optim::Adam>(std::move(g), optim::AdamOptions(1e-2));
  };
  // Two groups: weights decayed, biases not.
  std::vector<Tensor> weights, biases;
  for (const auto& [name, p] : model->named_parameters())
    (name.find("bias") != std::string::npos ? biases : weights).push_back(p);
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(weights, std::make_unique<optim::AdamOptions>(optim::AdamOptions(1e-2).weight_decay(0.1)));
  groups.emplace_back(biases);
  ZeroRedundancyOptimizer opt(ddp, groups, make);
  for (const auto& b : ddp.buckets()) {
    for (const auto& name : b.params)
      EXPECT_EQ(name.find("bias") != std::string::npos, b.group == 1) << name << " in a bucket of group " << b.group;
  }
  for (size_t s = 0; s < data.x.size(); ++s) {
    Tensor loss = loss_of(*model, data.x[s], data.y[s]);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  const optim::OptimizerState a = opt.state_dict();
  opt.load_state_dict(a);
  const optim::OptimizerState b = opt.state_dict();
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [key, t] : a.tensors) EXPECT_EQ(t.to_vector<float>(), b.tensors.at(key).to_vector<float>()) << key;
  EXPECT_EQ(a.metadata.at("group.0.weight_decay"), "0.1");
  EXPECT_EQ(a.metadata.at("group.1.weight_decay"), "0");
}

TEST(DdpLocal, ZeroClipGradNormMatchesTheWholeGradientOne) {
  auto model = make_mlp(5), plain = make_mlp(5);
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(64), local());
  ZeroRedundancyOptimizer opt(ddp, [](std::vector<optim::OptimizerParamGroup> g) {
    return std::make_unique<optim::SGD>(std::move(g), optim::SGDOptions(0.1));
  });
  Batches data = make_batches(1, 16);
  loss_of(*model, data.x[0], data.y[0]).backward();
  loss_of(*plain, data.x[0], data.y[0]).backward();
  const double expected = optim::clip_grad_norm_(plain->parameters(), 0.05);
  const double got = opt.clip_grad_norm(0.05);
  EXPECT_NEAR(got, expected, 1e-5 * expected);
  const auto a = model->parameters(), b = plain->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TENSOR_CLOSE(a[i].grad(), b[i].grad(), 1e-5, 1e-8);
}

TEST(DdpLocal, TrainingHelpersInAWorldOfOne) {
  init(InitOptions().device(Device(kCPU)));
  EXPECT_EQ(all_reduce_mean(2.5), 2.5);
  EXPECT_EQ(all_reduce_sum(std::vector<double>{1, 2}), (std::vector<double>{1, 2}));
  Tensor rows = arange(10, kFloat32).view({5, 2});
  EXPECT_EQ(gather_rows_in_dataset_order(rows, 5).to_vector<float>(), rows.to_vector<float>());
  EXPECT_THROW(run_on_main([] { throw IOError("disk full"); }, "saving"), IOError);
  io::TrainingState state;
  record_world_size(state);
  EXPECT_EQ(state.metadata.at("dist.world_size"), "1");
  EXPECT_NO_THROW(check_world_size(state));
  state.metadata["dist.world_size"] = "4";
  EXPECT_THROW(check_world_size(state), ValueError);
}

}  // namespace
}  // namespace kiln::dist
