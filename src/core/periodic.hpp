#pragma once
// A background job run at a fixed interval on its own thread (outbox delivery; later reminders
// and escalations). The job's own notion of "due" comes from the injected Clock; the interval is
// real time. Stop() (or the destructor) wakes the thread and waits for a run in progress to end.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace zhenwu {

class Periodic {
 public:
  // Starts the thread; `job` runs first after one interval, then after each further interval.
  // An exception escaping `job` is logged with `name` and the job runs again next time.
  Periodic(std::string name, std::chrono::milliseconds interval, std::function<void()> job);
  ~Periodic();
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  // Stops the thread (idempotent).
  void Stop();
  // How many times the job has run (for tests and metrics).
  int64_t runs() const;

 private:
  void Loop();
  std::string name_;
  std::chrono::milliseconds interval_;
  std::function<void()> job_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int64_t runs_ = 0;
  std::thread thread_;
};

}  // namespace zhenwu
