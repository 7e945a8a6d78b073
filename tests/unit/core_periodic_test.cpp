// The background-job runner: runs its job again and again, survives a throwing job, and stops
// promptly without waiting out the interval.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "core/periodic.hpp"

namespace zhenwu {
namespace {

using namespace std::chrono_literals;

TEST(PeriodicTest, RunsRepeatedlyAndAThrowingRunDoesNotStopIt) {
  std::atomic<int> calls{0};
  Periodic job("test", 5ms, [&] {
    if (calls.fetch_add(1) == 0) throw std::runtime_error("first run fails");
  });
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (calls.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  job.Stop();
  EXPECT_GE(calls.load(), 3);
  const int after_stop = calls.load();
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(calls.load(), after_stop);
  EXPECT_EQ(job.runs(), after_stop);
}

TEST(PeriodicTest, StopDoesNotWaitForTheInterval) {
  std::atomic<int> calls{0};
  const auto started = std::chrono::steady_clock::now();
  {
    Periodic job("slow", 1h, [&] { ++calls; });
  }  // the destructor stops it
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace zhenwu
