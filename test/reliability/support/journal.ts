/**
 * The suite's journal: everything tollgate logged (through `setLogger`), everything written to the
 * console, every child process's output, and every response with a 4xx/5xx status (head and body),
 * plus the client secrets and tokens each test file used and the figures it measured.
 *
 * Each test file writes its journal to one JSON file in a directory shared by the run (set up by
 * global-setup.js); secrets.test.ts, run last, greps all of them for every secret and token.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setLogger } from 'tollgate';

/** One captured line: where it came from and its text. */
export interface Entry {
  readonly source: string;
  readonly text: string;
}

/** What one test file leaves for the secrets check and the figures report. */
export interface JournalFile {
  readonly name: string;
  readonly logs: Entry[];
  readonly responses: Entry[];
  readonly secrets: string[];
  readonly tokens: string[];
  readonly figures: Record<string, unknown>;
}

/** The run's directory (global-setup.js sets it); a file run on its own gets a private one. */
export function journalDir(): string {
  const dir = process.env.TOLLGATE_RELIABILITY_DIR ?? join(tmpdir(), `tollgate-reliability-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Reads every journal file written so far in this run. */
export function readJournals(): JournalFile[] {
  const dir = journalDir();
  return readdirSync(dir)
    .filter((f) => f.endsWith('.journal.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as JournalFile);
}

const VOLATILE = /^(date|age|retry-after|keep-alive|x-tollgate-\w+-latency|ratelimit-\w+|x-ratelimit-[\w-]+)$/i;

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

const stringify = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ''}`;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};

/** The journal of one test file. Identical entries are kept once (a soak repeats the same 401 thousands of times). */
export class Journal {
  private readonly logEntries = new Map<string, Entry>();
  private readonly responseEntries = new Map<string, Entry>();
  readonly secrets = new Set<string>();
  readonly tokens = new Set<string>();
  readonly figures: Record<string, unknown> = {};

  constructor(readonly name: string) {}

  get logs(): Entry[] {
    return [...this.logEntries.values()];
  }

  get responses(): Entry[] {
    return [...this.responseEntries.values()];
  }

  /** Records a tollgate log line or console output. */
  log(source: string, ...parts: unknown[]): void {
    const entry = { source, text: parts.map(stringify).join(' ') };
    this.logEntries.set(`${source}\0${entry.text}`, entry);
  }

  /** Records a response when it is an error (status 400 and up, or none at all). */
  response(status: number | undefined, head: { headers: Record<string, unknown>; error?: string }, body: Buffer | string): void {
    if (status !== undefined && status < 400) return;
    // Headers whose value is a clock or a counter (digits only, never a secret) are left out, so
    // that identical answers are kept once.
    const headers = Object.fromEntries(Object.entries(head.headers).filter(([name]) => !VOLATILE.test(name)));
    const text = `${stringify({ ...head, headers })}\n${body.toString()}`;
    this.responseEntries.set(`${status}\0${text}`, { source: `HTTP ${status ?? 'none'}`, text });
  }

  /** Client secrets this file used: none may appear in any log or error response. */
  secret(...values: string[]): void {
    for (const v of values) this.secrets.add(v);
  }

  /** Access tokens this file minted or saw issued: none may appear either. */
  token(...values: string[]): void {
    for (const v of values) if (v) this.tokens.add(v);
  }

  /** A measured figure, reported at the end of the run and pasted into docs/reliability.md. */
  figure(name: string, value: unknown): void {
    this.figures[name] = value;
  }

  /** Writes the journal file. */
  save(): void {
    const file: JournalFile = {
      name: this.name,
      logs: this.logs,
      responses: this.responses,
      secrets: [...this.secrets],
      tokens: [...this.tokens],
      figures: this.figures,
    };
    writeFileSync(join(journalDir(), `${this.name}.journal.json`), JSON.stringify(file));
  }
}

/**
 * The journal of the calling test file, with tollgate's logger and the console captured from
 * `beforeAll` to `afterAll` (the console stays quiet unless RELIABILITY_VERBOSE is set).
 */
export function useJournal(name: string): Journal {
  const journal = new Journal(name);
  const verbose = process.env.RELIABILITY_VERBOSE !== undefined;
  const spies: jest.SpyInstance[] = [];
  beforeAll(() => {
    const at = (level: string) => (message: string, fields?: Record<string, unknown>) => journal.log(`tollgate.${level}`, message, ...(fields ? [fields] : []));
    setLogger({ debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') });
    for (const method of CONSOLE_METHODS) {
      const original = console[method].bind(console);
      spies.push(
        jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          journal.log(`console.${method}`, ...args);
          if (verbose) original(...args);
        }),
      );
    }
  });
  afterAll(() => {
    setLogger(null);
    for (const spy of spies.splice(0)) spy.mockRestore();
    journal.save();
  });
  return journal;
}
