import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// Every document the repository's Markdown cites is in the repository: a link's target (and its
// `#anchor`, by GitHub's heading slugs) and every `name.md` quoted in backticks.

const root = fileURLToPath(new URL('..', import.meta.url));
const docs = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.md'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((file) => file !== '' && existsSync(join(root, file)));

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .replace(/\s/g, '-');
const anchorsOf = (file: string) =>
  new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => /^#{1,6}\s/.test(line))
      .map((line) => slug(line.replace(/^#+/, ''))),
  );
/** The text outside fenced code blocks (a shell example's `a.md` is not a citation). */
const prose = (text: string) => text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1\s*$/gm, '');

it('finds the repository’s Markdown', () => {
  expect(docs).toContain('README.md');
  expect(docs).toContain('docs/oxen-server-contract.md');
});

it('every relative link in every Markdown file resolves (file and anchor)', () => {
  const broken: string[] = [];
  for (const doc of docs) {
    const text = prose(readFileSync(join(root, doc), 'utf8'));
    for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? join(root, doc) : join(root, dirname(doc), decodeURI(path));
      if (!existsSync(file)) broken.push(`${doc}: ${target} (no ${relative(root, file)})`);
      else if (anchor && statSync(file).isFile() && file.endsWith('.md') && !anchorsOf(file).has(anchor))
        broken.push(`${doc}: ${target} (no heading #${anchor})`);
    }
  }
  expect(broken).toEqual([]);
});

it('every Markdown file named in backticks is in the repository', () => {
  const names = new Set(docs.map((doc) => doc.split('/').at(-1)));
  const missing: string[] = [];
  for (const doc of docs) {
    const text = prose(readFileSync(join(root, doc), 'utf8'));
    for (const [, cited = ''] of text.matchAll(/`([\w./-]+\.md)`/g)) {
      const found = cited.includes('/')
        ? existsSync(join(root, dirname(doc), cited)) || existsSync(join(root, cited))
        : names.has(cited);
      if (!found) missing.push(`${doc}: ${cited}`);
    }
  }
  expect(missing).toEqual([]);
});

it('every package README says what it needs (its @oxvcs dependencies, Node) and how it loads', () => {
  const unstated: string[] = [];
  for (const manifest of docs.filter((doc) => /^(packages|apps)\/[^/]+\/README\.md$/.test(doc))) {
    const dir = dirname(manifest);
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      bin?: Record<string, string>;
    };
    const text = readFileSync(join(root, manifest), 'utf8').replace(/\s+/g, ' ');
    const install = text.slice(text.indexOf('## Install'));
    for (const dep of Object.keys(pkg.dependencies ?? {}))
      if (!install.includes(`\`${dep}\``)) unstated.push(`${manifest}: ${dep}`);
    if (!install.includes('Node ≥ 22.12')) unstated.push(`${manifest}: Node ≥ 22.12`);
    if (!pkg.bin && !install.includes('CommonJS')) unstated.push(`${manifest}: CommonJS`);
  }
  expect(unstated).toEqual([]);
});
