import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageError, ValueError } from '../../updater/core/errors.js';
import { MetadataStore, roleFileName } from '../../updater/client/metadata-store.js';

/**
 * The role a file name stands for, or undefined if roleFileName would never produce that name:
 * the inverse the tests use to show the encoding is one-to-one (the store itself never decodes).
 */
const SUFFIX = '.json';
function roleFromFileName(fileName: string): string | undefined {
  if (!fileName.endsWith(SUFFIX)) return undefined;
  let role: string;
  try {
    role = decodeURIComponent(fileName.slice(0, -SUFFIX.length));
    return roleFileName(role) === fileName ? role : undefined;
  } catch {
    return undefined; // malformed escapes, invalid UTF-8, or a name we would refuse
  }
}

let sandbox: string;
let dir: string;
beforeEach(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'tuf-store-'));
  dir = join(sandbox, 'metadata');
});
afterEach(() => {
  rmSync(sandbox, { recursive: true, force: true });
});

/** Every file under `root`, relative to it. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('role file names', () => {
  it.each([
    ['root', 'root.json'],
    ['timestamp', 'timestamp.json'],
    ['snapshot', 'snapshot.json'],
    ['targets', 'targets.json'],
    ['a/b', 'a%2Fb.json'],
    ['..', '...json'],
    ['.', '..json'],
    ['../root', '..%2Froot.json'],
    ['/etc/passwd', '%2Fetc%2Fpasswd.json'],
    ['C:\\x', 'C%3A%5Cx.json'],
    ['a\0b', 'a%00b.json'],
    ['%2e%2e', '%252e%252e.json'],
    ['bins-1f', 'bins-1f.json'],
    ['role with space', 'role%20with%20space.json'],
    ['ü', '%C3%BC.json'],
    ['con', '%63on.json'],
    ['NUL', '%4EUL.json'],
    ['lpt1.x', '%6Cpt1.x.json'],
    ['~', '~.json'],
  ])('%j is stored as %s and decodes back', (role, fileName) => {
    expect(roleFileName(role)).toBe(fileName);
    expect(roleFromFileName(fileName)).toBe(role);
  });

  it.each([
    ['empty', ''],
    ['lone surrogate', 'a\uD800'],
    ['too long once encoded', 'é'.repeat(50)],
    ['too long', 'r'.repeat(251)],
  ])('refuses a role name that cannot be stored: %s', (_, role) => {
    expect(() => roleFileName(role)).toThrow(ValueError);
  });

  it('keeps names up to the file-name limit', () => {
    expect(roleFileName('r'.repeat(250))).toHaveLength(255);
  });

  it.each(['root', 'a%2fb.json', 'a/b.json', 'con.json', '%72oot.json', '%E0%A4.json', '.json', 'x.json.tmp'])(
    'does not take %s for a stored role (not a name it would write)',
    (fileName) => {
      expect(roleFromFileName(fileName)).toBeUndefined();
    },
  );
});

describe('MetadataStore', () => {
  it('creates its directory and keeps the trusted root at root.json', async () => {
    const store = await MetadataStore.open(dir);
    expect(store.dir).toBe(dir);
    await store.write('root', bytes('{"signed":{}}'));
    expect(readFileSync(join(dir, 'root.json'), 'utf8')).toBe('{"signed":{}}');
    expect(await store.read('root')).toEqual(bytes('{"signed":{}}'));
  });

  it('reads what python-tuf wrote under its naming', async () => {
    const store = await MetadataStore.open(dir);
    writeFileSync(join(dir, 'a%2Fb.json'), 'delegated');
    expect(new TextDecoder().decode(await store.read('a/b'))).toBe('delegated');
  });

  it('round-trips odd role names without leaving the directory', async () => {
    const store = await MetadataStore.open(dir);
    const roles = ['a/b', '..', '.', '../../escape', '/abs', 'C:\\evil', 'x\0y', 'con', 'ü/日本', '%2e%2e'];
    for (const role of roles) await store.write(role, bytes(`content of ${role}`));
    for (const role of roles) expect(new TextDecoder().decode(await store.read(role))).toBe(`content of ${role}`);
    expect(filesUnder(sandbox).every((file) => dirname(file) === 'metadata')).toBe(true);
    expect(filesUnder(dir)).toHaveLength(roles.length);
  });

  it('read resolves undefined for a role never stored, and remove forgets a role', async () => {
    const store = await MetadataStore.open(dir);
    expect(await store.read('timestamp')).toBeUndefined();
    await store.remove('timestamp'); // nothing to remove: fine
    await store.write('timestamp', bytes('t'));
    await store.remove('timestamp');
    expect(await store.read('timestamp')).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses to read more than the bound given per call or per store', async () => {
    const store = await MetadataStore.open(dir, { maxBytes: 10 });
    await store.write('snapshot', new Uint8Array(11));
    await expect(store.read('snapshot')).rejects.toBeInstanceOf(StorageError);
    expect(await store.read('snapshot', 11)).toHaveLength(11);
    await expect(store.read('snapshot', 5)).rejects.toBeInstanceOf(StorageError);
  });

  it('refuses bad role names and non-bytes with ValueError, before touching the disk', async () => {
    const store = await MetadataStore.open(dir);
    await expect(store.write('', bytes('x'))).rejects.toBeInstanceOf(ValueError);
    await expect(store.read('a\uDC00')).rejects.toBeInstanceOf(ValueError);
    await expect(store.remove('z'.repeat(300))).rejects.toBeInstanceOf(ValueError);
    await expect(store.write('root', 'text' as unknown as Uint8Array)).rejects.toBeInstanceOf(ValueError);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails with StorageError when the directory is a file', async () => {
    writeFileSync(dir, 'not a directory');
    await expect(MetadataStore.open(dir)).rejects.toBeInstanceOf(StorageError);
  });

  it('serializes work under its lock, whose file no role can be named', async () => {
    const store = await MetadataStore.open(dir);
    const order: string[] = [];
    const job = (name: string) =>
      store.withLock(async () => {
        order.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push(`${name} out`);
      });
    await Promise.all([job('a'), job('b')]);
    // Whichever went first, the other only entered after it left.
    expect([order.slice(0, 2), order.slice(2)].map((pair) => pair.map((e) => e.split(' ')[0]))).toEqual(
      order[0] === 'a in'
        ? [
            ['a', 'a'],
            ['b', 'b'],
          ]
        : [
            ['b', 'b'],
            ['a', 'a'],
          ],
    );
    const release = await store.lock();
    const lockFiles = readdirSync(dir);
    expect(lockFiles).toHaveLength(1);
    expect(roleFromFileName(lockFiles[0])).toBeUndefined();
    await release();
  });

  it('property: any role name gives ValueError, or a name inside the directory that decodes back to it', async () => {
    const store = await MetadataStore.open(dir);
    const roleName = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 30 }),
      fc
        .array(
          fc.constantFrom(
            '..',
            '.',
            '/',
            '\\',
            '%',
            '%2e',
            '%2F',
            'C:',
            '\0',
            'con',
            'aux.',
            'root',
            ' ',
            '~',
            '\uD800',
          ),
          { maxLength: 12 },
        )
        .map((parts) => parts.join('')),
    );
    const written = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(roleName, async (role) => {
        let path: string;
        try {
          path = store.pathOf(role);
        } catch (error) {
          expect(error).toBeInstanceOf(ValueError);
          return;
        }
        expect(dirname(path)).toBe(dir);
        const fileName = basename(path);
        expect(fileName).toMatch(/^[A-Za-z0-9._~%-]+\.json$/);
        expect(roleFromFileName(fileName)).toBe(role);
        if (written.size < 300 && !written.has(fileName)) {
          written.set(fileName, role);
          await store.write(role, bytes(role));
          expect(await store.read(role)).toEqual(bytes(role));
        }
      }),
      { numRuns: 1500 },
    );
    // Nothing appeared anywhere but directly in the metadata directory, one file per role.
    expect(filesUnder(sandbox).sort()).toEqual([...written.keys()].map((name) => join('metadata', name)).sort());
  });
});
