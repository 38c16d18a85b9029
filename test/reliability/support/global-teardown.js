// Prints the figures every test file measured (they go into docs/reliability.md), then removes the journal.
const { readdirSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');

module.exports = async function globalTeardown() {
  const dir = process.env.TOLLGATE_RELIABILITY_DIR;
  if (!dir) return;
  const lines = ['', 'tollgate reliability figures'];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.journal.json')).sort()) {
    const { name, figures } = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    for (const [key, value] of Object.entries(figures)) lines.push(`  ${name} · ${key}: ${JSON.stringify(value)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (!process.env.RELIABILITY_KEEP_JOURNAL) rmSync(dir, { recursive: true, force: true });
  else process.stdout.write(`journal kept in ${dir}\n`);
};
