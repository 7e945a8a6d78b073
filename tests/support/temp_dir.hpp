#pragma once
// A fresh folder under the system temp directory, removed with everything in it on destruction.

#include <filesystem>
#include <string>

namespace zhenwu::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace zhenwu::testing
