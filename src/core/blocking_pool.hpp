#pragma once
// The pool for blocking work (database calls, fsync, password hashing, PDF, Excel). IO threads
// never block: they co_await Run(), which executes the function on a pool thread and resumes the
// coroutine on its own executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>

namespace zhenwu {

namespace asio = boost::asio;

// Calls `fn` on `pool` and completes `handler` with its result on the handler's own executor.
// `fn` may throw; the exception is rethrown in the awaiting coroutine.
template <class Fn, class CompletionToken>
auto AsyncRunOn(asio::any_io_executor pool, Fn fn, CompletionToken&& token) {
  using T = std::invoke_result_t<Fn&>;
  static_assert(!std::is_void_v<T>, "return a value (e.g. Status) from blocking work");
  return asio::async_initiate<CompletionToken, void(std::exception_ptr, std::optional<T>)>(
      [pool](auto handler, Fn fn) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto work =
            std::make_shared<decltype(asio::make_work_guard(*h))>(asio::make_work_guard(*h));
        asio::post(pool, [h, work, fn = std::move(fn)]() mutable {
          std::exception_ptr error;
          std::optional<T> value;
          try {
            value.emplace(fn());
          } catch (...) {
            error = std::current_exception();
          }
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, work, error, value = std::move(value)]() mutable {
            (*h)(error, std::move(value));
            work->reset();
          });
        });
      },
      token, std::move(fn));
}

class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads) : pool_(threads), threads_(threads) {}
  ~BlockingPool() { Join(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs fn on a pool thread; the awaiting coroutine resumes on its own executor.
  template <class Fn>
  asio::awaitable<std::invoke_result_t<Fn&>> Run(Fn fn) {
    auto result = co_await AsyncRunOn(executor(), std::move(fn), asio::use_awaitable);
    co_return std::move(*result);
  }

  asio::any_io_executor executor() { return pool_.get_executor(); }
  std::size_t threads() const { return threads_; }
  // Waits for queued work to finish and stops the threads.
  void Join() { pool_.join(); }

 private:
  asio::thread_pool pool_;
  std::size_t threads_;
};

}  // namespace zhenwu
