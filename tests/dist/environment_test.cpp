// The launcher's environment: Open MPI, Slurm and plain RANK/WORLD_SIZE, in
// that order of precedence; malformed values are errors naming the variable.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include <kiln/dist/init.h>

namespace kiln::dist {
namespace {

Environment from(const std::map<std::string, std::string>& vars) {
  return environment_from([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(DistEnvironment, NoLauncherIsAWorldOfOne) {
  const Environment env = from({});
  EXPECT_EQ(env.launcher, "none");
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.local_rank, 0);
}

TEST(DistEnvironment, OpenMpi) {
  const Environment env = from({{"OMPI_COMM_WORLD_RANK", "3"},
                                {"OMPI_COMM_WORLD_SIZE", "8"},
                                {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                                {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  EXPECT_EQ(env.launcher, "mpirun");
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 2);
}

TEST(DistEnvironment, Slurm) {
  const Environment env = from({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "5"},
                                {"SLURM_NTASKS_PER_NODE", "8"}});
  EXPECT_EQ(env.launcher, "slurm");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 16);
  EXPECT_EQ(env.local_rank, 5);
  EXPECT_EQ(env.local_world_size, 8);
}

TEST(DistEnvironment, PlainVariablesAndMissingLocalRank) {
  const Environment env = from({{"RANK", "1"}, {"WORLD_SIZE", "2"}});
  EXPECT_EQ(env.launcher, "env");
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.world_size, 2);
  EXPECT_EQ(env.local_rank, 0);
  EXPECT_EQ(env.local_world_size, 1);
}

TEST(DistEnvironment, OpenMpiWinsOverSlurmWinsOverPlain) {
  EXPECT_EQ(from({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"SLURM_PROCID", "1"},
                  {"SLURM_NTASKS", "4"}, {"RANK", "2"}, {"WORLD_SIZE", "3"}})
                .launcher,
            "mpirun");
  EXPECT_EQ(from({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "4"}, {"RANK", "2"}, {"WORLD_SIZE", "3"}}).world_size, 4);
}

TEST(DistEnvironment, MalformedValuesNameTheVariable) {
  try {
    from({{"RANK", "one"}, {"WORLD_SIZE", "2"}});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("RANK=\"one\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(from({{"RANK", "2"}, {"WORLD_SIZE", "2"}}), ValueError) << "rank must be below the size";
  EXPECT_THROW(from({{"RANK", "0"}}), ValueError) << "a rank without a size";
  EXPECT_THROW(from({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "0"}}), ValueError);
  EXPECT_THROW(from({{"RANK", "0"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "2"}, {"LOCAL_WORLD_SIZE", "2"}}),
               ValueError);
  EXPECT_THROW(from({{"RANK", "-1"}, {"WORLD_SIZE", "2"}}), ValueError);
}

TEST(DistInit, WithoutALauncherIsAWorldOfOneOnALocalCommunicator) {
  // The test runs without mpirun (this executable is labelled cpu).
  init(InitOptions().device(Device(kCPU)));
  EXPECT_EQ(world_size(), 1);
  EXPECT_EQ(rank(), 0);
  EXPECT_TRUE(is_main_process());
  EXPECT_EQ(device(), Device(kCPU));
  EXPECT_EQ(communicator()->backend(), "local");
  EXPECT_EQ(cpu_communicator()->backend(), "local");
  EXPECT_THROW(init(InitOptions().device(Device(kCUDA, 0))), ValueError) << "a second init must agree";
}

}  // namespace
}  // namespace kiln::dist
