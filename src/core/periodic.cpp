#include "core/periodic.hpp"

#include <spdlog/spdlog.h>

namespace zhenwu {

Periodic::Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> job)
    : name_(std::move(name)), interval_(interval), job_(std::move(job)) {
  thread_ = std::thread([this] { Loop(); });
}

Periodic::~Periodic() { Stop(); }

void Periodic::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

int64_t Periodic::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

void Periodic::Loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
    lock.unlock();
    try {
      job_();
    } catch (const std::exception& e) {
      spdlog::error("{}: {}", name_, e.what());
    } catch (...) {
      spdlog::error("{}: unknown exception", name_);
    }
    lock.lock();
    ++runs_;
  }
}

}  // namespace zhenwu
