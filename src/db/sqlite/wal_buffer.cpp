#include "db/sqlite/wal_buffer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>

namespace zhenwu::db::sqlite {

namespace {

constexpr const char* kVfsName = "zhenwu-walbuf";
// A transaction larger than this writes as it goes; a group commit of cases is about 1 MB.
constexpr std::size_t kMaxPending = std::size_t{16} << 20;

// The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the length), so a flush goes
// out in pieces of this size.
constexpr std::size_t kWriteChunk = std::size_t{64} << 10;

std::atomic<int64_t> g_appends{0};
std::atomic<int64_t> g_writes{0};

// Bytes SQLite wrote to a WAL file that are not in the file yet: one contiguous run.
struct Pending {
  std::string bytes;
  sqlite3_int64 offset = 0;
};

struct File {
  sqlite3_file base;  // first, so that SQLite's sqlite3_file* is a File*
  sqlite3_file* real;
  Pending* pending;  // WAL files only
};

sqlite3_vfs* Real(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
const sqlite3_io_methods* M(File* f) { return f->real->pMethods; }

// The WAL file of this thread's connection with bytes waiting, if any. SQLite runs a
// connection's calls on the thread using it, so the shared-memory calls that precede anything
// another connection may see come on the same thread as the writes they must follow.
thread_local File* t_waiting = nullptr;

int Flush(File* f) {
  Pending* p = f->pending;
  if (p == nullptr || p->bytes.empty()) return SQLITE_OK;
  if (t_waiting == f) t_waiting = nullptr;
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < p->bytes.size() && rc == SQLITE_OK; done += kWriteChunk) {
    const std::size_t n = std::min(kWriteChunk, p->bytes.size() - done);
    rc = M(f)->xWrite(f->real, p->bytes.data() + done, static_cast<int>(n),
                      p->offset + static_cast<sqlite3_int64>(done));
    ++g_writes;
  }
  // Dropped on failure too: SQLite fails the commit, and stale bytes must never be written
  // over frames it writes later.
  p->bytes.clear();
  return rc;
}

int FlushWaiting() { return t_waiting != nullptr ? Flush(t_waiting) : SQLITE_OK; }

int Close(sqlite3_file* file) {
  File* f = Of(file);
  int rc = Flush(f);
  if (t_waiting == f) t_waiting = nullptr;
  delete f->pending;
  f->pending = nullptr;
  const int closed = M(f)->xClose(f->real);
  return rc != SQLITE_OK ? rc : closed;
}

int Read(sqlite3_file* file, void* buf, int amount, sqlite3_int64 offset) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xRead(f->real, buf, amount, offset);
}

int Write(sqlite3_file* file, const void* buf, int amount, sqlite3_int64 offset) {
  File* f = Of(file);
  Pending* p = f->pending;
  if (p == nullptr) return M(f)->xWrite(f->real, buf, amount, offset);
  ++g_appends;
  const auto* bytes = static_cast<const char*>(buf);
  const auto size = static_cast<sqlite3_int64>(p->bytes.size());
  if (!p->bytes.empty() && offset >= p->offset && offset + amount <= p->offset + size) {
    // A frame rewritten within the same commit.
    std::memcpy(p->bytes.data() + (offset - p->offset), bytes, static_cast<std::size_t>(amount));
    return SQLITE_OK;
  }
  if (!p->bytes.empty() && offset != p->offset + size) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  }
  if (t_waiting != nullptr && t_waiting != f) {
    if (int rc = Flush(t_waiting); rc != SQLITE_OK) return rc;
  }
  if (p->bytes.empty()) p->offset = offset;
  p->bytes.append(bytes, static_cast<std::size_t>(amount));
  t_waiting = f;
  if (p->bytes.size() >= kMaxPending) return Flush(f);
  return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xTruncate(f->real, size);
}

int Sync(sqlite3_file* file, int flags) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xSync(f->real, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xFileSize(f->real, size);
}

int Lock(sqlite3_file* file, int level) { return M(Of(file))->xLock(Of(file)->real, level); }
int Unlock(sqlite3_file* file, int level) { return M(Of(file))->xUnlock(Of(file)->real, level); }
int CheckReservedLock(sqlite3_file* file, int* out) {
  return M(Of(file))->xCheckReservedLock(Of(file)->real, out);
}

int FileControl(sqlite3_file* file, int op, void* arg) {
  File* f = Of(file);
  if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  return M(f)->xFileControl(f->real, op, arg);
}

int SectorSize(sqlite3_file* file) { return M(Of(file))->xSectorSize(Of(file)->real); }
int DeviceCharacteristics(sqlite3_file* file) {
  return M(Of(file))->xDeviceCharacteristics(Of(file)->real);
}

int ShmMap(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  if (int rc = FlushWaiting(); rc != SQLITE_OK) return rc;
  return M(Of(file))->xShmMap(Of(file)->real, page, page_size, extend, out);
}

int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  if (int rc = FlushWaiting(); rc != SQLITE_OK) return rc;
  return M(Of(file))->xShmLock(Of(file)->real, offset, n, flags);
}

void ShmBarrier(sqlite3_file* file) {
  // Nothing waits here when the WAL is synced at every commit (the only way zhenwu uses this
  // VFS); a failure would surface at the next sync.
  (void)FlushWaiting();
  M(Of(file))->xShmBarrier(Of(file)->real);
}

int ShmUnmap(sqlite3_file* file, int delete_flag) {
  if (int rc = FlushWaiting(); rc != SQLITE_OK) return rc;
  return M(Of(file))->xShmUnmap(Of(file)->real, delete_flag);
}

int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  File* f = Of(file);
  if (M(f)->iVersion < 3 || M(f)->xFetch == nullptr) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return M(f)->xFetch(f->real, offset, amount, out);
}

int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  File* f = Of(file);
  if (M(f)->iVersion < 3 || M(f)->xUnfetch == nullptr) return SQLITE_OK;
  return M(f)->xUnfetch(f->real, offset, page);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = Of(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  f->pending = nullptr;
  const int rc = Real(vfs)->xOpen(Real(vfs), name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  if (f->real->pMethods == nullptr) return SQLITE_CANTOPEN;
  if ((flags & SQLITE_OPEN_WAL) != 0) f->pending = new Pending();
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Real(vfs)->xDelete(Real(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Real(vfs)->xAccess(Real(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Real(vfs)->xFullPathname(Real(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Real(vfs)->xDlOpen(Real(vfs), name); }
void DlError(sqlite3_vfs* vfs, int n, char* out) { Real(vfs)->xDlError(Real(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Real(vfs)->xDlSym(Real(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Real(vfs)->xDlClose(Real(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Real(vfs)->xRandomness(Real(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int micros) { return Real(vfs)->xSleep(Real(vfs), micros); }
int CurrentTime(sqlite3_vfs* vfs, double* out) { return Real(vfs)->xCurrentTime(Real(vfs), out); }
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Real(vfs)->xGetLastError(Real(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Real(vfs)->xCurrentTimeInt64(Real(vfs), out);
}

sqlite3_vfs g_vfs;
const char* g_name = nullptr;

void Register() {
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || real->iVersion < 2) return;
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(sizeof(File)) + real->szOsFile;
  g_vfs.mxPathname = real->mxPathname;
  g_vfs.zName = kVfsName;
  g_vfs.pAppData = real;
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xDlOpen = DlOpen;
  g_vfs.xDlError = DlError;
  g_vfs.xDlSym = DlSym;
  g_vfs.xDlClose = DlClose;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK) g_name = kVfsName;
}

}  // namespace

const char* WalBufferVfs() {
  static std::once_flag once;
  std::call_once(once, Register);
  return g_name;
}

WalBufferCounts WalBufferStats() { return {g_appends.load(), g_writes.load()}; }

}  // namespace zhenwu::db::sqlite
