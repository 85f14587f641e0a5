/**
 * Fake `oxen` CLI (a development fake of @oxvcs/oxen-testkit, not Oxen). It covers the subset
 * oxvcs calls, with Oxen's output lines, `Error:` messages, exit codes and quirks, over a local
 * `.oxen` folder; push, pull and fetch talk HTTP to the (fake) server, so network faults surface
 * as Oxen's own `Network error: error sending request for url (…)`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { type CommitRecord, hashObject, history, isAncestor, makeCommit, type RepoData } from '../model.js';

class CliError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, exitCode = 1, hint?: string) {
    super(message);
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

interface LocalData extends RepoData {
  staged: Record<string, string | null>;
  remoteBranches: Record<string, string>;
}

const args = process.argv.slice(2);
const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function takeFlag(list: string[], ...names: string[]): boolean {
  const i = list.findIndex((a) => names.includes(a));
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}
function takeOption(list: string[], ...names: string[]): string | undefined {
  const i = list.findIndex((a) => names.includes(a));
  if (i < 0) return undefined;
  const value = list[i + 1];
  if (value === undefined)
    throw new CliError(`a value is required for '${list[i]} <VALUE>' but none was supplied`, 2);
  list.splice(i, 2);
  return value;
}

function configDir(list: string[]): string {
  return (
    takeOption(list, '--config-dir') ?? process.env.OXEN_CONFIG_DIR ?? join(homedir(), '.config', 'oxen')
  );
}

function findRepo(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, '.oxen', 'data.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new CliError(`No oxen repository found at ${resolve(from)}`);
    dir = parent;
  }
}

function load(repo: string): LocalData {
  return JSON.parse(readFileSync(join(repo, '.oxen', 'data.json'), 'utf8')) as LocalData;
}
function save(repo: string, data: LocalData) {
  const file = join(repo, '.oxen', 'data.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(data));
  renameSync(`${file}.tmp`, file);
}
const currentBranch = (repo: string) => readFileSync(join(repo, '.oxen', 'HEAD'), 'utf8').trim();
const setBranch = (repo: string, name: string) => writeFileSync(join(repo, '.oxen', 'HEAD'), `${name}\n`);

interface RepoConfig {
  remote_name?: string;
  remotes?: Array<{ name: string; url: string }>;
}
function repoConfig(repo: string): RepoConfig {
  const file = join(repo, '.oxen', 'config.toml');
  return existsSync(file) ? (parse(readFileSync(file, 'utf8')) as RepoConfig) : {};
}
function writeRepoConfig(repo: string, config: RepoConfig) {
  writeFileSync(join(repo, '.oxen', 'config.toml'), stringify(config as Record<string, unknown>));
}

function walk(root: string, dir = root): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '.oxen') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...walk(root, full));
    else if (entry.isFile()) files.push(relative(root, full).split('\\').join('/'));
  }
  return files;
}

function headTree(data: LocalData, branch: string): Record<string, string> {
  const head = data.branches[branch];
  return head ? { ...data.commits[head]!.tree } : {};
}

function writeTree(repo: string, data: LocalData, from: Record<string, string>, to: Record<string, string>) {
  for (const path of Object.keys(from)) if (!(path in to)) rmSync(join(repo, path), { force: true });
  for (const [path, hash] of Object.entries(to)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), Buffer.from(data.objects[hash] ?? '', 'base64'));
  }
}

function userConfig(dir: string): { name?: string; email?: string } {
  const file = join(dir, 'user_config.toml');
  return existsSync(file) ? (parse(readFileSync(file, 'utf8')) as { name?: string; email?: string }) : {};
}

interface AuthConfig {
  default_host?: string;
  host_configs?: Array<{ host: string; auth_token?: string }>;
}

function remoteOf(
  repo: string,
  name?: string,
): { name: string; url: string; ns: string; repo: string; origin: string; host: string } {
  const config = repoConfig(repo);
  const remoteName = name ?? config.remote_name ?? 'origin';
  const remote = config.remotes?.find((r) => r.name === remoteName);
  if (!remote) {
    throw new CliError(
      `No remote named '${remoteName}' is set. Set one with: oxen config --set-remote ${remoteName} <url>`,
    );
  }
  const url = new URL(remote.url);
  const [ns, repoName] = url.pathname.split('/').filter(Boolean);
  return {
    name: remoteName,
    url: remote.url,
    ns: ns ?? '',
    repo: repoName ?? '',
    origin: url.origin,
    host: url.host,
  };
}

async function http(
  cfgDir: string,
  host: string,
  url: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const auth = (() => {
    const file = join(cfgDir, 'auth_config.toml');
    if (!existsSync(file)) return undefined;
    const config = parse(readFileSync(file, 'utf8')) as AuthConfig;
    return config.host_configs?.find((h) => h.host === host)?.auth_token;
  })();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth) headers.authorization = `Bearer ${auth}`;
  // Like Oxen: connect errors and 5xx are retried up to 3 times; 429 is not; no request timeout.
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        headers,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    } catch {
      if (attempt < 3) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      throw new CliError(
        `Network error: error sending request for url (${url})`,
        1,
        'Check your internet connection and try again.',
      );
    }
    if (response.status >= 500 && attempt < 3) {
      await response.body?.cancel();
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const text = await response.text().catch(() => {
      throw new CliError(
        `Network error: error sending request for url (${url})`,
        1,
        'Check your internet connection and try again.',
      );
    });
    if (response.status === 401)
      throw new CliError(`Could not deserialize response from [${url}]\n401 Unauthorized`);
    if (response.status === 403 && !auth)
      throw new CliError('Must supply valid API key. Run `oxen config --auth <HOST> <TOKEN>`.');
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new CliError(
        `Could not deserialize response from [${url}]\n${response.status} ${response.statusText}`,
      );
    }
    return { status: response.status, body };
  }
}

function errStatus(status: number, statusText: string, url: string, body: Record<string, unknown>): CliError {
  return new CliError(`Err status [${status} ${statusText}] from url ${url} [${JSON.stringify(body)}]`);
}

async function versionChecks(cfgDir: string, remote: ReturnType<typeof remoteOf>, withVersion: boolean) {
  const min = await http(cfgDir, remote.host, `${remote.origin}/api/min_version`);
  if (min.status !== 200) throw errStatus(min.status, '', `${remote.origin}/api/min_version`, min.body);
  if (withVersion) await http(cfgDir, remote.host, `${remote.origin}/api/version`);
  const repo = await http(cfgDir, remote.host, `${remote.origin}/api/repos/${remote.ns}/${remote.repo}`);
  if (repo.status === 404) throw new CliError(`Remote repository not found: ${remote.url}`);
}

async function remoteBranch(cfgDir: string, remote: ReturnType<typeof remoteOf>, branch: string) {
  const url = `${remote.origin}/api/repos/${remote.ns}/${remote.repo}/branches/${branch}`;
  const res = await http(cfgDir, remote.host, url);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw errStatus(res.status, '', url, res.body);
  return (res.body.branch as { commit_id: string }).commit_id;
}

async function download(
  cfgDir: string,
  remote: ReturnType<typeof remoteOf>,
  data: LocalData,
  commit: string,
) {
  const url = `${remote.origin}/__testkit/repos/${remote.ns}/${remote.repo}/download/${commit}`;
  const res = await http(cfgDir, remote.host, url);
  if (res.status !== 200) throw errStatus(res.status, '', url, res.body);
  for (const c of res.body.commits as CommitRecord[]) data.commits[c.id] = c;
  Object.assign(data.objects, res.body.objects as Record<string, string>);
}

const elapsed = (started: number) => `${Date.now() - started}ms`;

async function main(): Promise<void> {
  const list = [...args];
  const cfgDir = configDir(list);
  const command = list.shift();
  const cwd = process.cwd();
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
      out(
        'oxen (fake, from @oxvcs/oxen-testkit) — commands: config init add commit status branch checkout push pull fetch log remote',
      );
      return;
    case '--version':
    case '-V':
      out('oxen 0.54.0');
      return;
    case 'init': {
      const dir = resolve(list[0] ?? cwd);
      mkdirSync(join(dir, '.oxen'), { recursive: true });
      if (!existsSync(join(dir, '.oxen', 'data.json'))) {
        save(dir, { commits: {}, branches: {}, objects: {}, staged: {}, remoteBranches: {} });
        setBranch(dir, 'main');
        writeRepoConfig(dir, { remote_name: 'origin', remotes: [] });
      }
      out(`🐂 repository initialized at: ${dir}`);
      return;
    }
    case 'config': {
      mkdirSync(cfgDir, { recursive: true });
      const name = takeOption(list, '--name');
      const email = takeOption(list, '--email');
      if (name !== undefined || email !== undefined) {
        const user = { ...userConfig(cfgDir), ...(name ? { name } : {}), ...(email ? { email } : {}) };
        writeFileSync(join(cfgDir, 'user_config.toml'), stringify(user));
      }
      const authIndex = list.indexOf('--auth');
      if (authIndex >= 0) {
        const [host, token] = [list[authIndex + 1], list[authIndex + 2]];
        if (!host || !token) throw new CliError("a value is required for '--auth <HOST> <TOKEN>'", 2);
        const file = join(cfgDir, 'auth_config.toml');
        const config: AuthConfig = existsSync(file) ? (parse(readFileSync(file, 'utf8')) as AuthConfig) : {};
        const hosts = (config.host_configs ?? []).filter((h) => h.host !== host);
        hosts.push({ host, auth_token: token });
        writeFileSync(
          file,
          stringify({ default_host: config.default_host ?? 'hub.oxen.ai', host_configs: hosts }),
          {
            mode: 0o600,
          },
        );
        list.splice(authIndex, 3);
      }
      const setRemote = list.indexOf('--set-remote');
      if (setRemote >= 0) {
        const [remoteName, url] = [list[setRemote + 1], list[setRemote + 2]];
        if (!remoteName || !url) throw new CliError("a value is required for '--set-remote <NAME> <URL>'", 2);
        const repo = findRepo(cwd);
        const config = repoConfig(repo);
        const remotes = (config.remotes ?? []).filter((r) => r.name !== remoteName);
        remotes.push({ name: remoteName, url });
        writeRepoConfig(repo, { remote_name: config.remote_name ?? 'origin', remotes });
      }
      const deleteRemote = takeOption(list, '--delete-remote');
      if (deleteRemote) {
        const repo = findRepo(cwd);
        const config = repoConfig(repo);
        writeRepoConfig(repo, {
          ...config,
          remotes: (config.remotes ?? []).filter((r) => r.name !== deleteRemote),
        });
      }
      return;
    }
    case 'add': {
      const repo = findRepo(cwd);
      const data = load(repo);
      if (list.length === 0)
        throw new CliError('the following required arguments were not provided:\n  <PATHS>...', 2);
      const tree = headTree(data, currentBranch(repo));
      let count = 0;
      let bytes = 0;
      const all = walk(repo);
      for (const arg of list) {
        const target = relative(repo, resolve(cwd, arg)).split('\\').join('/');
        const matches = all.filter((f) => target === '' || f === target || f.startsWith(`${target}/`));
        const removed = Object.keys(tree).filter(
          (f) => (target === '' || f === target || f.startsWith(`${target}/`)) && !all.includes(f),
        );
        if (matches.length === 0 && removed.length === 0 && !existsSync(resolve(cwd, arg))) {
          throw new CliError(`Path does not exist: ${arg}`);
        }
        for (const f of matches) {
          const content = readFileSync(join(repo, f));
          const hash = hashObject(content);
          if (tree[f] === hash) continue;
          data.objects[hash] = content.toString('base64');
          data.staged[f] = hash;
          count++;
          bytes += content.length;
        }
        for (const f of removed) data.staged[f] = null;
      }
      save(repo, data);
      out(`🐂 oxen added ${count} files (${bytes} B) in 1ms`);
      return;
    }
    case 'commit': {
      const message = takeOption(list, '-m', '--message');
      if (!message)
        throw new CliError('the following required arguments were not provided:\n  --message <MESSAGE>', 2);
      const repo = findRepo(cwd);
      const user = userConfig(cfgDir);
      if (!user.name || !user.email) {
        throw new CliError(
          'oxen not configured, set email and name with:\n\noxen config --name YOUR_NAME --email YOUR_EMAIL\n',
        );
      }
      const data = load(repo);
      if (Object.keys(data.staged).length === 0) throw new CliError('No changes to commit');
      const branch = currentBranch(repo);
      const tree = headTree(data, branch);
      for (const [path, hash] of Object.entries(data.staged)) {
        if (hash === null) delete tree[path];
        else tree[path] = hash;
      }
      const head = data.branches[branch];
      const started = Date.now();
      const commit = makeCommit(head ? [head] : [], tree, {
        message,
        author: user.name,
        email: user.email,
        timestamp: new Date().toISOString(),
      });
      data.commits[commit.id] = commit;
      data.branches[branch] = commit.id;
      data.staged = {};
      save(repo, data);
      out(`Committing with message: ${message}`);
      out(`🐂 commit ${commit.id} -> '${message}' in ${elapsed(started)}`);
      return;
    }
    case 'status': {
      const repo = findRepo(cwd);
      const data = load(repo);
      const branch = currentBranch(repo);
      const tree = headTree(data, branch);
      out(`On branch ${branch} -> ${data.branches[branch] ?? '(no commits)'}`);
      const staged = Object.keys(data.staged);
      const files = walk(repo);
      const modified = files.filter(
        (f) => tree[f] && !(f in data.staged) && hashObject(readFileSync(join(repo, f))) !== tree[f],
      );
      const untracked = files.filter((f) => !tree[f] && !(f in data.staged));
      const removed = Object.keys(tree).filter((f) => !files.includes(f) && !(f in data.staged));
      if (staged.length + modified.length + untracked.length + removed.length === 0) {
        out('nothing to commit, working tree clean');
        return;
      }
      const section = (title: string, entries: string[], label: string) => {
        if (entries.length === 0) return;
        out('');
        out(title);
        for (const f of entries) out(`  ${label}${f}`);
      };
      section('Files to be committed:', staged, '');
      section('Modified files:', modified, 'modified: ');
      section('Untracked Files', untracked, '');
      section('Removed Files', removed, 'removed: ');
      return;
    }
    case 'branch': {
      const repo = findRepo(cwd);
      const data = load(repo);
      const current = currentBranch(repo);
      if (takeFlag(list, '--show-current')) return out(current);
      const del = takeOption(list, '-D', '-d', '--delete');
      if (del) {
        if (!data.branches[del]) throw new CliError(`Branch not found: ${del}`);
        if (del === current) throw new CliError(`Cannot delete current checked out branch: ${del}`);
        delete data.branches[del];
        save(repo, data);
        return out(`Deleted branch ${del}`);
      }
      const remoteListing = takeOption(list, '-r', '--remote');
      if (remoteListing) {
        const remote = remoteOf(repo, remoteListing);
        const url = `${remote.origin}/api/repos/${remote.ns}/${remote.repo}/branches`;
        const res = await http(cfgDir, remote.host, url);
        if (res.status === 404) throw new CliError(`Remote repository not found: ${remote.url}`);
        for (const b of res.body.branches as Array<{ name: string }>) out(`${remote.name}\t${b.name}`);
        return;
      }
      const all = takeFlag(list, '-a', '--all');
      const name = list[0];
      if (name) {
        const head = data.branches[current];
        if (!head) throw new CliError(`No commits on branch ${current}, cannot create ${name}`);
        if (data.branches[name]) throw new CliError(`Branch already exists: ${name}`);
        data.branches[name] = head;
        save(repo, data);
        return;
      }
      for (const b of Object.keys(data.branches).sort()) out(`${b === current ? '*' : ' '} ${b}`);
      if (all) for (const b of Object.keys(data.remoteBranches).sort()) out(`  remotes/origin/${b}`);
      return;
    }
    case 'checkout': {
      const repo = findRepo(cwd);
      const data = load(repo);
      const create = takeFlag(list, '-b');
      const name = list[0];
      if (!name) throw new CliError('the following required arguments were not provided:\n  <NAME>', 2);
      const current = currentBranch(repo);
      if (create) {
        if (data.branches[name]) throw new CliError(`Branch already exists: ${name}`);
        const head = data.branches[current];
        if (head) data.branches[name] = head;
        save(repo, data);
        setBranch(repo, name);
        return out(`Checked out branch: ${name}`);
      }
      if (!data.branches[name]) {
        // Oxen's quirk: an unknown revision is reported on stdout and the exit code is 0.
        return out(`Revision not found: ${name} (no branch or commit with that name)`);
      }
      writeTree(repo, data, headTree(data, current), headTree(data, name));
      setBranch(repo, name);
      return out(`Checked out branch: ${name}`);
    }
    case 'log': {
      const repo = findRepo(cwd);
      const data = load(repo);
      const n = Number(takeOption(list, '-n', '--number') ?? '10');
      const revision = takeOption(list, '--revision') ?? currentBranch(repo);
      const head = data.branches[revision] ?? (data.commits[revision] ? revision : undefined);
      if (!head) throw new CliError(`Revision not found: ${revision}`);
      for (const c of history(data.commits, head).slice(0, n)) {
        out(`commit ${c.id}`);
        out(`Author: ${c.author} <${c.email}>`);
        out(`Date:   ${new Date(c.timestamp).toUTCString()}`);
        out('');
        out(`    ${c.message}`);
        out('');
      }
      return;
    }
    case 'remote': {
      const repo = findRepo(cwd);
      const verbose = takeFlag(list, '-v', '--verbose');
      for (const r of repoConfig(repo).remotes ?? []) out(verbose ? `${r.name}\t${r.url}` : r.name);
      return;
    }
    case 'push': {
      const force = takeFlag(list, '-f', '--force');
      const deleteRemote = takeFlag(list, '-d', '--delete');
      const repo = findRepo(cwd);
      const data = load(repo);
      const remote = remoteOf(repo, list[0]);
      const branch = list[1] ?? currentBranch(repo);
      const started = Date.now();
      await versionChecks(cfgDir, remote, true);
      const base = `${remote.origin}/api/repos/${remote.ns}/${remote.repo}`;
      if (deleteRemote) {
        const res = await http(cfgDir, remote.host, `${base}/branches/${branch}`, { method: 'DELETE' });
        if (res.status === 404) throw new CliError(`Remote branch '${branch}' not found`);
        return out(`Deleted remote branch: ${branch}`);
      }
      const head = data.branches[branch];
      if (!head) throw new CliError(`Local branch '${branch}' not found`);
      const remoteHead = await remoteBranch(cfgDir, remote, branch);
      if (remoteHead === head) return out('Everything is up to date');
      if (remoteHead && !force && !isAncestor(data.commits, remoteHead, head)) {
        throw new CliError(
          `Branch ${branch} is behind remote commit ${remoteHead}.\nRun oxen pull to update your local branch, or use oxen push --force to force push.`,
        );
      }
      out(`🐂 oxen push ${remote.name} ${branch} -> ${head}`);
      const commits = history(data.commits, head);
      const objects: Record<string, string> = {};
      for (const c of commits) for (const h of Object.values(c.tree)) objects[h] = data.objects[h] ?? '';
      const upload = await http(
        cfgDir,
        remote.host,
        `${remote.origin}/__testkit/repos/${remote.ns}/${remote.repo}/upload`,
        {
          method: 'POST',
          body: { commits, objects },
        },
      );
      if (upload.status !== 200) throw errStatus(upload.status, '', `${base}/upload`, upload.body);
      // Like Oxen: the fast-forward check above and this update are separate requests.
      const put = await http(cfgDir, remote.host, `${base}/branches/${branch}`, {
        method: 'PUT',
        body: { commit_id: head },
      });
      if (put.status !== 200) throw errStatus(put.status, '', `${base}/branches/${branch}`, put.body);
      data.remoteBranches[branch] = head;
      save(repo, data);
      return out(`🐂 push complete 🎉 took ${elapsed(started)}`);
    }
    case 'pull':
    case 'fetch': {
      const repo = findRepo(cwd);
      const data = load(repo);
      if (command === 'fetch') {
        const only = takeOption(list, '-b', '--branch');
        const remote = remoteOf(repo);
        await versionChecks(cfgDir, remote, false);
        const url = `${remote.origin}/api/repos/${remote.ns}/${remote.repo}/branches`;
        const res = await http(cfgDir, remote.host, url);
        for (const b of res.body.branches as Array<{ name: string; commit_id: string }>) {
          if (only && b.name !== only) continue;
          if (!data.commits[b.commit_id]) await download(cfgDir, remote, data, b.commit_id);
          data.remoteBranches[b.name] = b.commit_id;
        }
        save(repo, data);
        return out('Repository is up to date.');
      }
      const remote = remoteOf(repo, list[0]);
      const branch = list[1] ?? currentBranch(repo);
      await versionChecks(cfgDir, remote, true);
      out(`🐂 oxen pull ${remote.name} ${branch}`);
      const remoteHead = await remoteBranch(cfgDir, remote, branch);
      if (!remoteHead) throw new CliError(`Remote branch '${branch}' not found`);
      await download(cfgDir, remote, data, remoteHead);
      data.remoteBranches[branch] = remoteHead;
      const local = data.branches[branch];
      const current = currentBranch(repo);
      if (local && isAncestor(data.commits, remoteHead, local)) {
        save(repo, data);
        return out('Everything is up to date');
      }
      if (!local || isAncestor(data.commits, local, remoteHead)) {
        if (branch === current) writeTree(repo, data, headTree(data, branch), data.commits[remoteHead]!.tree);
        data.branches[branch] = remoteHead;
        save(repo, data);
        return;
      }
      // Diverged: merge when no file changed on both sides, else Oxen's conflict message.
      const localAncestors = new Set(history(data.commits, local).map((c) => c.id));
      const base = history(data.commits, remoteHead).find((c) => localAncestors.has(c.id));
      const baseTree = base?.tree ?? {};
      const ours = data.commits[local]!.tree;
      const theirs = data.commits[remoteHead]!.tree;
      const paths = new Set([...Object.keys(ours), ...Object.keys(theirs)]);
      const merged: Record<string, string> = {};
      for (const p of paths) {
        const [o, t, b] = [ours[p], theirs[p], baseTree[p]];
        if (o !== b && t !== b && o !== t)
          throw new CliError('There was a merge conflict, please resolve it before pulling.');
        const pick = o !== b ? o : t;
        if (pick) merged[p] = pick;
      }
      const user = userConfig(cfgDir);
      const commit = makeCommit([local, remoteHead], merged, {
        message: `Merge branch '${branch}' of ${remote.url}`,
        author: user.name ?? 'oxen',
        email: user.email ?? 'oxen@oxen.ai',
        timestamp: new Date().toISOString(),
      });
      data.commits[commit.id] = commit;
      if (branch === current) writeTree(repo, data, ours, merged);
      data.branches[branch] = commit.id;
      save(repo, data);
      return;
    }
    default:
      throw new CliError(`unrecognized subcommand '${command}'`, 2);
  }
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`Error: ${error.message}\n`);
      if (error.hint) process.stderr.write(`  hint: ${error.hint}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
