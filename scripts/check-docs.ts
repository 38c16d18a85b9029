/**
 * Compiles every ```ts code block in README.md and docs/ (STYLE.md: every code block in docs
 * compiles in CI). Each block is written as its own module to .doccheck/, at the same folder depth
 * as its page so relative imports resolve, then type-checked with the project's tsconfig.
 *
 * Usage: tsx scripts/check-docs.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = join(__dirname, '..');
const out = join(root, '.doccheck');

function pages(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'api' ? [] : pages(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

rmSync(out, { recursive: true, force: true });
const files: string[] = [];
for (const page of [join(root, 'README.md'), ...pages(join(root, 'docs'))]) {
  const rel = relative(root, page);
  // docs/plugins/oidc.md → .doccheck/plugins/oidc-N.ts (same depth); README.md → .doccheck/README-N.ts
  const base = rel.startsWith('docs/') ? rel.slice('docs/'.length) : rel;
  const text = readFileSync(page, 'utf8');
  const blocks = [...text.matchAll(/^```ts\n([\s\S]*?)^```/gm)];
  blocks.forEach((m, i) => {
    const line = text.slice(0, m.index).split('\n').length;
    const file = join(out, `${base.replace(/\.md$/, '')}-${i + 1}.ts`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `// ${rel}:${line}\n${m[1]}\nexport {};\n`);
    files.push(file);
  });
}

writeFileSync(
  join(out, 'tsconfig.json'),
  JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { noUnusedLocals: false, baseUrl: '..' }, include: ['./**/*.ts', '../src/**/*.ts'] }, null, 2),
);
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '--noEmit', '-p', join(out, 'tsconfig.json')], { stdio: 'inherit' });
  console.log(`docs: ${files.length} code blocks compile`);
} catch {
  console.error('docs: a code block does not compile (each .doccheck file starts with its page and line)');
  process.exit(1);
}
