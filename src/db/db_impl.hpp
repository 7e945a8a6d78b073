#pragma once
// Template bodies of db::Database (kept out of db.hpp for reading).

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <future>

namespace zhenwu::db {

// Not a coroutine: the work is wrapped and handed to async_initiate, which keeps it until the
// awaiting coroutine suspends; the result is posted back to that coroutine's executor.
template <class T>
asio::awaitable<Result<T>> Database::Await(bool write, std::function<Result<T>(Conn&)> fn) {
  auto slot = std::make_shared<Slot<T>>();
  return asio::async_initiate<decltype(asio::use_awaitable), void(Result<T>)>(
      [this, write, slot](auto handler, Work work) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        Done on_done = [h, slot](Status status) {
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, slot, status = std::move(status)]() mutable {
            (*h)(Finish<T>(*slot, std::move(status)));
          });
        };
        if (write) {
          SubmitWrite(std::move(work), std::move(on_done));
        } else {
          SubmitRead(std::move(work), std::move(on_done));
        }
      },
      asio::use_awaitable, Wrap<T>(slot, std::move(fn)));
}

template <class T>
Result<T> Database::Sync(bool write, std::function<Result<T>(Conn&)> fn) {
  auto slot = std::make_shared<Slot<T>>();
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  Done on_done = [promise](Status status) { promise->set_value(std::move(status)); };
  if (write) {
    SubmitWrite(Wrap<T>(slot, std::move(fn)), std::move(on_done));
  } else {
    SubmitRead(Wrap<T>(slot, std::move(fn)), std::move(on_done));
  }
  Status done = future.get();
  return Finish<T>(*slot, std::move(done));
}

}  // namespace zhenwu::db
