// The command line as an operator uses it: `zhenwu demo`, `zhenwu audit verify` on an intact
// chain (exit 0) and on a database file where one audit row was altered behind the program's
// back (exit 1, naming the row).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/server.mjs';

const bin = process.env.ZHENWU_BIN ?? join(repoRoot, 'build/release/zhenwu');
let dir;
let dbFile;

function zhenwu(...args) {
  return spawnSync(bin, [...args, '--config', join(repoRoot, 'zhenwu.toml'), '--db', `sqlite:${dbFile}`], {
    cwd: dir,
    encoding: 'utf8',
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zhenwu-e2e-cli-'));
  dbFile = join(dir, 'zhenwu.db');
  const demo = zhenwu('demo');
  assert.equal(demo.status, 0, demo.stderr);
  assert.match(demo.stdout, /admin/);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('audit verify says an untouched chain is intact', () => {
  const run = zhenwu('audit', 'verify');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /完整/);
});

test('audit verify catches one altered row in the database file and names it', () => {
  execFileSync('sqlite3', [dbFile, "UPDATE audit_events SET summary = summary || '（改）' WHERE seq = 7"]);
  const run = zhenwu('audit', 'verify');
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /篡改/);
  assert.match(run.stdout, /第 7 条/);
});
