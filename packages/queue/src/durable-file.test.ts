import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowSync } from 'lowdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuardedFileSync, WriteConflict, type WriteGuard } from './durable-file.js';

interface Data {
  items: string[];
}

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'queue-durable-'));
  file = join(dir, 'data.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const parse = (bytes: Buffer) => JSON.parse(bytes.toString('utf8')) as Data;
const stringify = (data: Data) => JSON.stringify(data);
const open = (guard?: WriteGuard) => {
  const adapter = new GuardedFileSync<Data>(file, { parse, stringify, ...(guard ? { guard } : {}) });
  return { adapter, db: new LowSync<Data>(adapter, { items: [] }) };
};
const holding = (held = () => true): WriteGuard => ({ token: 't1', held });
const conflict = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WriteConflict);
    return (error as WriteConflict).reason;
  }
  throw new Error('expected a WriteConflict');
};

describe('GuardedFileSync, a lowdb adapter', () => {
  it('LowSync reads and writes the file through it (on disk, whole, no temp file left)', () => {
    const { db } = open(holding());
    db.read();
    expect(db.data).toEqual({ items: [] });
    db.update((data) => data.items.push('a'));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ items: ['a'] });
    const reader = open().db;
    reader.read();
    expect(reader.data).toEqual({ items: ['a'] });
    expect(readdirSync(dir)).toEqual(['data.json']);
  });

  it('refuses to write, writing nothing, once the lock it read under is no longer held', () => {
    writeFileSync(file, stringify({ items: ['before'] }));
    let held = true;
    const { db } = open(holding(() => held));
    db.read();
    db.data.items.push('late');
    held = false;
    expect(conflict(() => db.write())).toBe('lock-lost');
    expect(readFileSync(file, 'utf8')).toBe(stringify({ items: ['before'] }));
    expect(readdirSync(dir)).toEqual(['data.json']);
  });

  it('refuses to write over a version it did not read (another writer replaced the file meanwhile)', () => {
    writeFileSync(file, stringify({ items: ['before'] }));
    const { db } = open(holding());
    db.read();
    writeFileSync(`${file}.other`, stringify({ items: ['acknowledged'] }));
    rmSync(file);
    writeFileSync(file, readFileSync(`${file}.other`));
    db.data.items.push('stale');
    expect(conflict(() => db.write())).toBe('file-changed');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ items: ['acknowledged'] });
  });

  it('writes nothing when the data did not change, and again after its own write', () => {
    const { db, adapter } = open(holding());
    db.read();
    db.write();
    const first = statSync(file, { bigint: true });
    db.write();
    expect(statSync(file, { bigint: true }).mtimeNs).toBe(first.mtimeNs);
    db.data.items.push('b');
    db.write(); // its own previous write is the version it knows
    expect(adapter.version?.bytes?.toString()).toBe(stringify({ items: ['b'] }));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ items: ['b'] });
  });

  it('without a guard it only reads', () => {
    const { db } = open();
    db.read();
    expect(() => db.write()).toThrow(/must be read under a lock/);
  });
});
