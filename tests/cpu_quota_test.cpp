// tp_default_workers' cgroup v2 quota reading, against fake cgroup trees.
#include "cpu_quota.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using tp::detail::cgroup_cpu_limit;
using tp::detail::default_workers;

class FakeCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("tp-cgroup-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "sys" / "a" / "b");
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const fs::path &file, const std::string &text) { std::ofstream(file) << text; }
  std::size_t limit(const std::string &own_cgroup_line) {
    write(root_ / "self-cgroup", own_cgroup_line);
    return cgroup_cpu_limit((root_ / "sys").string(), (root_ / "self-cgroup").string());
  }

  fs::path root_;
};

TEST_F(FakeCgroup, NoQuotaAnywhere) {
  write(root_ / "sys" / "cpu.max", "max 100000\n");
  write(root_ / "sys" / "a" / "b" / "cpu.max", "max 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 0u);
}

TEST_F(FakeCgroup, OwnQuotaRoundsUp) {
  write(root_ / "sys" / "a" / "b" / "cpu.max", "150000 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 2u);
  write(root_ / "sys" / "a" / "b" / "cpu.max", "50000 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 1u);
}

TEST_F(FakeCgroup, TheSmallestQuotaUpTheHierarchyWins) {
  write(root_ / "sys" / "a" / "cpu.max", "300000 100000\n");
  write(root_ / "sys" / "a" / "b" / "cpu.max", "max 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 3u);
  write(root_ / "sys" / "a" / "b" / "cpu.max", "400000 100000\n");
  EXPECT_EQ(limit("0::/a/b\n"), 3u);
}

TEST_F(FakeCgroup, CgroupV1OrMissingFilesMeanNoQuota) {
  EXPECT_EQ(limit("12:cpu,cpuacct:/a\n"), 0u);  // v1 only: no "0::" line
  EXPECT_EQ(limit("0::/not/there\n"), 0u);
  EXPECT_EQ(cgroup_cpu_limit((root_ / "sys").string(), (root_ / "no-such-file").string()), 0u);
}

TEST(DefaultWorkers, CoresLimitedByTheQuotaAndAtLeastOne) {
  EXPECT_EQ(default_workers(8, 0), 8u);
  EXPECT_EQ(default_workers(8, 3), 3u);
  EXPECT_EQ(default_workers(2, 16), 2u);
  EXPECT_EQ(default_workers(0, 0), 1u);
}

}  // namespace
