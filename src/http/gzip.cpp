#include "http/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace zhenwu::http {
namespace {

// windowBits 15 plus 16 selects the gzip wrapper; 15 plus 32 detects gzip or zlib on input.
constexpr int kGzipWindowBits = 15 + 16;
constexpr int kAutoWindowBits = 15 + 32;
constexpr int kMemLevel = 8;

// One deflate state per thread and level: deflateInit allocates about 256 KiB, deflateReset
// does not.
class DeflateStates {
 public:
  DeflateStates() = default;
  DeflateStates(const DeflateStates&) = delete;
  DeflateStates& operator=(const DeflateStates&) = delete;
  ~DeflateStates() {
    for (auto& s : streams_) {
      if (s.ready) deflateEnd(&s.z);
    }
  }

  z_stream& Get(int level) {
    Slot& s = streams_[static_cast<std::size_t>(level)];
    if (!s.ready) {
      s.z = z_stream{};
      if (deflateInit2(&s.z, level, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
        throw std::runtime_error("deflateInit2 failed");
      }
      s.ready = true;
    } else {
      deflateReset(&s.z);
    }
    return s.z;
  }

 private:
  struct Slot {
    z_stream z{};
    bool ready = false;
  };
  std::array<Slot, 10> streams_{};
};

}  // namespace

std::string GzipCompress(std::string_view data, int level) {
  thread_local DeflateStates states;
  level = std::clamp(level, 1, 9);
  z_stream& z = states.Get(level);

  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  // deflateBound guarantees one Z_FINISH call suffices.
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
    deflateReset(&z);
    throw std::runtime_error("deflate failed");
  }
  out.resize(z.total_out);
  return out;
}

std::optional<std::string> GzipDecompress(std::string_view data, std::size_t max_size) {
  z_stream z{};
  if (inflateInit2(&z, kAutoWindowBits) != Z_OK) return std::nullopt;
  std::string out;
  std::array<char, 16 * 1024> chunk;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    std::size_t produced = chunk.size() - z.avail_out;
    if (out.size() + produced > max_size) {
      rc = Z_MEM_ERROR;
      break;
    }
    out.append(chunk.data(), produced);
    if (rc == Z_OK && produced == 0 && z.avail_in == 0) break;  // truncated input
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

}  // namespace zhenwu::http
