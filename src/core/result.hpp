#pragma once
// Expected errors are values: Result<T> holds either a T or an Error with a code and, for
// invalid input, a message per field. Exceptions are kept for the unexpected.

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace zhenwu {

enum class ErrorCode {
  kInvalidInput,      // the caller sent something wrong; fields say what
  kMalformedRequest,  // the request itself cannot be read (wrong Content-Type, malformed JSON)
  kUnauthenticated,   // who is asking is unknown
  kForbidden,         // known, but not allowed
  kNotFound,          // no such record, or not visible to the caller
  kConflict,          // duplicate or stale write
  kTooManyRequests,   // rate limited
  kUnavailable,       // a dependency (database, gateway) is down
  kInternal,          // a bug or an unexpected failure
};

// The stable machine-readable name used in JSON errors ("invalid_input", ...).
const char* ErrorCodeName(ErrorCode code);

struct FieldError {
  std::string field;
  std::string message;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::vector<FieldError> fields;

  static Error Invalid(std::string field, std::string message) {
    Error e{ErrorCode::kInvalidInput, message, {}};
    e.fields.push_back({std::move(field), std::move(message)});
    return e;
  }
  static Error NotFound(std::string message = "not found") {
    return {ErrorCode::kNotFound, std::move(message), {}};
  }
  static Error Internal(std::string message) {
    return {ErrorCode::kInternal, std::move(message), {}};
  }
  static Error Unavailable(std::string message) {
    return {ErrorCode::kUnavailable, std::move(message), {}};
  }
  static Error Conflict(std::string message) {
    return {ErrorCode::kConflict, std::move(message), {}};
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& {
    assert(!ok());
    return *error_;
  }
  Error&& error() && {
    assert(!ok());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace zhenwu
