// The command line as an operator uses it: `zhenwu demo` (and again, adding nothing), `zhenwu
// audit verify` on an intact chain (exit 0) and on a database file where one audit row was
// altered behind the program's back (exit 1, naming the row), `zhenwu files sweep` removing an
// old upload nothing refers to, and `zhenwu serve` refusing a damaged people.key with one clear
// line.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
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

test('demo loads the demo residents and enterprises once, marked demo', () => {
  const count = () =>
    execFileSync('sqlite3', [dbFile, 'SELECT COUNT(*), SUM(demo) FROM people_residents; SELECT COUNT(*), SUM(demo) FROM people_enterprises'], {
      encoding: 'utf8',
    }).trim();
  assert.equal(count(), '38|38\n6|6');
  const again = zhenwu('demo');
  assert.equal(again.status, 0, again.stderr);
  assert.equal(count(), '38|38\n6|6');
});

test('files sweep removes an old upload nothing refers to and keeps a recent one', async () => {
  // Two uploads that no case or service refers to, as the store lays them out.
  const store = join(dir, 'data', 'files');
  const put = async (bytes) => {
    const sha = createHash('sha256').update(bytes).digest('hex');
    const folder = join(store, sha.slice(0, 2), sha.slice(2, 4));
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, sha), bytes);
    return join(folder, sha);
  };
  const old = await put('%PDF-1.4\n没有提交的申请\n%%EOF\n');
  const recent = await put('%PDF-1.4\n刚上传的材料\n%%EOF\n');
  const tenDaysAgo = new Date(Date.now() - 10 * 86400 * 1000);
  await utimes(old, tenDaysAgo, tenDaysAgo);

  const run = zhenwu('files', 'sweep');
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /已删除 1 个无引用且超过 7 天的文件/);
  assert.equal(existsSync(old), false);
  assert.equal(existsSync(recent), true);

  const refused = zhenwu('files', 'sweep', '--keep-days', '0');
  assert.equal(refused.status, 2, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /--keep-days 至少为 1/);
  assert.equal(existsSync(recent), true);
});

test('serve refuses a damaged people.key with one line naming the file and the backup', async () => {
  const keyFile = join(dir, 'data', 'keys', 'people.key');
  const good = await readFile(keyFile, 'utf8');
  try {
    await writeFile(keyFile, good.replace(/^data_key=.*$/m, 'data_key=0123'));
    const run = spawnSync(
      bin,
      ['serve', '--config', join(repoRoot, 'zhenwu.toml'), '--db', `sqlite:${dbFile}`, '--listen', '127.0.0.1:0'],
      { cwd: dir, encoding: 'utf8', timeout: 20000 },
    );
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /listening/);
    const lines = run.stderr.trim().split('\n').filter((l) => l.startsWith('zhenwu:'));
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /启动失败/);
    assert.match(lines[0], /data\/keys\/people\.key/);
    assert.match(lines[0], /已损坏/);
    assert.match(lines[0], /备份中恢复/);
  } finally {
    await writeFile(keyFile, good);
  }
});
