/** Starting and stopping the benchmark's child processes (fixtures and stacks). */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

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
