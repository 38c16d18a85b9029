#!/usr/bin/env node
/**
 * The `tollgate` command. One subcommand so far:
 *
 *   npx tollgate kong check kong.yaml [--json]
 *
 * reads a decK file and prints what each part maps to in tollgate and what is left out; it exits
 * with 1 when anything is unsupported (or refused, as Kong itself would), 2 when it cannot read
 * the file, 0 otherwise. Nothing is built: no connection is opened.
 */
import { readFileSync } from 'node:fs';
import { isTollgateError } from '../core/errors';
import { checkKong, type KongFinding } from '../kong';

const USAGE = 'usage: tollgate kong check <decK file> [--json]';

function print(findings: readonly KongFinding[], file: string): void {
  const width = Math.min(48, Math.max(...findings.map((f) => f.path.length), 4));
  const line = (f: KongFinding) => `  ${f.path.padEnd(width)}  ${f.message}`;
  const group = (title: string, status: KongFinding['status']) => {
    const list = findings.filter((f) => f.status === status);
    if (list.length === 0) return;
    console.log(`\n${title} (${list.length}):`);
    for (const f of list) console.log(line(f));
  };
  console.log(`${file}:`);
  group('Runs in tollgate', 'supported');
  group('Runs, with a difference (see docs/kong.md)', 'translated');
  group('Left out: tollgate cannot run these', 'unsupported');
  group('Refused: Kong refuses these too', 'invalid');
  const bad = findings.filter((f) => f.status === 'unsupported' || f.status === 'invalid').length;
  console.log(bad === 0 ? '\nEverything in the file runs in tollgate.' : `\n${bad} part${bad === 1 ? '' : 's'} cannot run in tollgate.`);
}

function main(argv: readonly string[]): number {
  const args = argv.filter((a) => a !== '--json');
  const json = argv.includes('--json');
  if (args[0] !== 'kong' || args[1] !== 'check' || args.length !== 3) {
    console.error(USAGE);
    return 2;
  }
  const file = args[2]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`tollgate: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return 2;
  }
  let findings: readonly KongFinding[];
  try {
    findings = checkKong(text);
  } catch (err) {
    if (!isTollgateError(err)) throw err;
    console.error(`tollgate: ${err.message}`);
    return 2;
  }
  if (json) console.log(JSON.stringify(findings, null, 2));
  else print(findings, file);
  return findings.some((f) => f.status === 'unsupported' || f.status === 'invalid') ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
