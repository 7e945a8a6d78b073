#pragma once
// Template bodies of db::Database (kept out of db.hpp for reading).

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <future>

namespace zhenwu::db {

template <class T>
asio::awaitable<Result<T>> Database::Await(bool write, std::function<Result<T>(Conn&)> fn) {
  auto slot = std::make_shared<Slot<T>>();
  Work work = Wrap<T>(slot, std::move(fn));
  Status done = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Status)>(
      [this, write, &work](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        Done on_done = [h](Status status) {
          auto ex = asio::get_associated_executor(*h);
          asio::post(ex, [h, status = std::move(status)]() mutable { (*h)(std::move(status)); });
        };
        if (write) {
          SubmitWrite(std::move(work), std::move(on_done));
        } else {
          SubmitRead(std::move(work), std::move(on_done));
        }
      },
      asio::use_awaitable);
  co_return Finish<T>(*slot, std::move(done));
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
