#pragma once
// The "zhenwu-walbuf" SQLite VFS: the writer connection's WAL appends gathered in memory and
// written with one pwrite when SQLite syncs the WAL at the commit, instead of two small writes
// per page (a frame header and the page). On a busy town server a group commit of 64 cases is
// some 300 frames; on a virtual machine each system call is costly, so this is most of the
// commit's time.
//
// What reaches the disk, and when, is unchanged: SQLite's sync of the WAL (every commit with
// synchronous=FULL or EXTRA) first writes the gathered bytes in order and then syncs them, and
// no other connection can see a frame before that: the WAL index in shared memory, which tells
// them how far the WAL goes, is updated after the sync. Before anything else that touches the
// WAL file or the shared memory (a read, a size, a truncate, a lock, a checkpoint) the bytes are
// written too. It wraps the default VFS ("unix"); every other file passes straight through.
//
// Only for connections that sync every commit (see SqliteConn::Open): with synchronous=NORMAL
// SQLite publishes a commit without syncing the WAL, and the bytes would then wait for the next
// shared-memory call.

#include <cstdint>

namespace zhenwu::db::sqlite {

// Registers the VFS with SQLite on the first call (thread-safe) and returns its name, for
// sqlite3_open_v2. Returns nullptr if there is no default VFS to wrap.
const char* WalBufferVfs();

// Process-wide counts since start: WAL writes SQLite asked for, and writes actually made. Tests
// and benchmarks compare the two.
struct WalBufferCounts {
  int64_t appends = 0;
  int64_t writes = 0;
};
WalBufferCounts WalBufferStats();

}  // namespace zhenwu::db::sqlite
