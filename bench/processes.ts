/**
 * Starting and stopping the benchmark's child processes (fixtures and stacks), and the load
 * autocannon drives at a stack: what `npm run bench` and `npm run bench:profile` share.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type autocannon from 'autocannon';
import type { Stack } from './catalog';

const tsx = join(__dirname, '../node_modules/tsx/dist/cli.mjs');

/**
 * Starts a TypeScript file as a child process and waits for its first line matching `ready`.
 * With `nodeArgs` (a profiler's flags) the file runs in that node process itself, through tsx's
 * loader, instead of under tsx's command line, which would start a second process to run it.
 */
export function start(file: string, env: Record<string, string>, ready: RegExp, nodeArgs: string[] = []): Promise<{ child: ChildProcess; line: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs.length > 0 ? [...nodeArgs, '--import', 'tsx', file] : [tsx, file], { env: { ...process.env, NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${file} did not start within 30 s`));
    }, 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!ready.test(line)) return;
      clearTimeout(timer);
      resolve({ child, line });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before it was ready`));
    });
  });
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** What the fixtures process announces: the shared upstream, the issuer and its signed token. */
export interface Fixtures {
  upstreamUrl: string;
  issuerUrl: string;
  audience: string;
  token: string;
}

/** Starts the fixtures process; `env` is what every stack is started with. */
export async function startFixtures(): Promise<{ child: ChildProcess; fixtures: Fixtures; env: Record<string, string> }> {
  const { child, line } = await start(join(__dirname, 'fixtures.ts'), {}, /^\{/);
  const fixtures = JSON.parse(line) as Fixtures;
  return { child, fixtures, env: { UPSTREAM_URL: fixtures.upstreamUrl, ISSUER_URL: fixtures.issuerUrl, AUDIENCE: fixtures.audience } };
}

/** Starts one stack (with its own environment on top of `env`) and returns it with its port. */
export async function startStack(stack: Stack, env: Record<string, string>, nodeArgs: string[] = []): Promise<{ child: ChildProcess; port: number }> {
  const { child, line } = await start(join(__dirname, 'stacks', `${stack.file}.ts`), { ...env, ...(stack.env ?? {}) }, /^READY \d+$/, nodeArgs);
  return { child, port: Number(line.split(' ')[1]) };
}

/** The autocannon options for a stack: its path, the bearer token if it wants one, a distinct query per request on the miss path. */
export function loadOptions(stack: Stack, port: number, token: string, connections: number): autocannon.Options {
  let counter = 0;
  return {
    url: `http://127.0.0.1:${port}${stack.path}`,
    connections,
    headers: stack.auth ? { authorization: `Bearer ${token}` } : {},
    ...(stack.distinctPaths ? { requests: [{ setupRequest: (req: { path: string }) => ({ ...req, path: `${stack.path}?miss=${counter++}` }) }] } : {}),
  } as autocannon.Options;
}
