// Starts the built zhenwu binary on a free loopback port with its own SQLite file, for one test
// file (startDemoServer: with the demo loaded first). ZHENWU_BIN overrides the binary (default:
// build/release/zhenwu).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** The zhenwu binary to test: ZHENWU_BIN, or build/release/zhenwu. Throws when it is missing. */
export function zhenwuBin() {
  const bin = process.env.ZHENWU_BIN ?? join(repoRoot, 'build/release/zhenwu');
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it first (./test.sh or ./run.sh do)`);
  }
  return bin;
}

const kStartTimeoutMs = 20_000;
const kStopTimeoutMs = 5_000;
const kListening = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/**
 * Starts `zhenwu serve` and resolves once it prints "listening on http://127.0.0.1:PORT".
 * Returns { baseURL, output(), stop() }; stop() sends SIGTERM (SIGKILL after 5 s) and removes the
 * temporary folder. Rejects with the server's output when it exits or stays silent instead.
 */
export async function startServer({ args = [], env = {} } = {}) {
  const bin = zhenwuBin();
  const dir = await mkdtemp(join(tmpdir(), 'zhenwu-e2e-'));
  // cwd is the temporary folder, so that nothing the server writes lands in the repository.
  const child = spawn(
    bin,
    [
      'serve',
      '--config', join(repoRoot, 'zhenwu.toml'),
      '--listen', '127.0.0.1:0',
      // A test that loaded its own database (e.g. with `zhenwu demo`) passes --db itself.
      ...(args.includes('--db') ? [] : ['--db', `sqlite:${join(dir, 'zhenwu.db')}`]),
      ...args,
    ],
    { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );

  // A test process that dies without running its after() hooks takes the server with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let output = '';
  const exited = new Promise((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const spawnError = new Promise((_, reject) => child.once('error', reject));
  const exitedEarly = exited.then(({ code, signal }) => {
    throw new Error(`zhenwu exited (code ${code}, signal ${signal}) before listening`);
  });
  // Both settle after a successful start too (at stop()); only the race below cares.
  spawnError.catch(() => {});
  exitedEarly.catch(() => {});

  const listening = new Promise((resolveListening) => {
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output += chunk;
      pending += chunk;
      const match = kListening.exec(pending);
      if (match) resolveListening(match[1]);
      pending = pending.slice(pending.lastIndexOf('\n') + 1);
    });
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });

  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`zhenwu did not report "listening on" within ${kStartTimeoutMs} ms`)),
      kStartTimeoutMs,
    );
  });

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), kStopTimeoutMs);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const baseURL = await Promise.race([listening, spawnError, timeout, exitedEarly]);
    return { baseURL, output: () => output, stop };
  } catch (error) {
    await stop();
    error.message += `\n--- zhenwu output ---\n${output}`;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Loads the Pingzheng demo (`zhenwu demo`: the org tree, one account per role with the password
 * Demo@2026, demo residents and services) into a new SQLite database and starts the server on it,
 * for one test file. The database and the data folder share one temporary folder: the server
 * finds the key the demo's residents are encrypted with (people.key) and keeps uploads beside
 * them. Returns what startServer returns; its stop() also removes that folder.
 */
export async function startDemoServer() {
  const dir = await mkdtemp(join(tmpdir(), 'zhenwu-e2e-demo-'));
  const db = `sqlite:${join(dir, 'zhenwu.db')}`;
  const data = join(dir, 'data');
  try {
    execFileSync(
      zhenwuBin(),
      ['demo', '--config', join(repoRoot, 'zhenwu.toml'), '--db', db, '--data-dir', data],
      { cwd: dir, stdio: 'pipe' },
    );
    const server = await startServer({ args: ['--db', db, '--data-dir', data] });
    return {
      ...server,
      stop: async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
