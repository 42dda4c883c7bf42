/**
 * The metadata model (updater/core/metadata.ts, delegations.ts, verify.ts) against the
 * python-tuf vectors and the spec: every vector file round-trips to the same canonical bytes,
 * unknown fields survive, malformed fields are refused with DeserializationError, path
 * patterns match as python-tuf's fnmatch does, succinct hash bins land where python-tuf put
 * them, and a threshold counts each key once.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../updater/core/canonical.js';
import { DelegatedRole, Delegations, isTargetInPathPattern, SuccinctRoles } from '../../updater/core/delegations.js';
import { DeserializationError, TufError, UnsignedMetadataError } from '../../updater/core/errors.js';
import { generateKey, signerFromPrivateKeyPem, type PublicKey, type Signer } from '../../updater/core/keys.js';
import { Metadata, Root, Targets, type AnySigned } from '../../updater/core/metadata.js';
import { derToPem } from '../../updater/core/pem.js';
import { Role } from '../../updater/core/roles.js';
import { countSignatures, verifyDelegate } from '../../updater/core/verify.js';
import { VECTORS } from '../helpers/vectors.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** Every metadata file of the vectors: initial roots and metadata/*.json of each repository. */
function vectorMetadataFiles(): string[] {
  const files: string[] = [];
  for (const group of ['repos', 'real-world']) {
    for (const repo of readdirSync(join(VECTORS, group)).sort()) {
      const dir = join(VECTORS, group, repo);
      if (!statSync(dir).isDirectory()) continue;
      files.push(join(dir, 'initial_root.json'));
      for (const f of readdirSync(join(dir, 'metadata')).sort())
        if (f.endsWith('.json')) files.push(join(dir, 'metadata', f));
    }
  }
  return files;
}

/**
 * Early sigstore roots write `expires` with fractional seconds and a non-UTC offset; python-tuf
 * refuses them too (strptime "%Y-%m-%dT%H:%M:%SZ"), and a client bootstrapped with v12 never
 * parses them (vectors README).
 */
const NOT_SPEC_COMPLIANT = new Set(
  ['1.root.json', '2.root.json', '3.root.json'].map((f) => `real-world/sigstore-root-signing/metadata/${f}`),
);

const read = (path: string): Buffer => readFileSync(join(VECTORS, path));
const readJson = (path: string): Json => JSON.parse(read(path).toString('utf8'));
const bytesOf = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc));

describe('every vector metadata file round-trips', () => {
  const files = vectorMetadataFiles();

  it('found the vector files', () => {
    expect(files.length).toBeGreaterThan(90);
  });

  for (const file of files) {
    const name = relative(VECTORS, file);
    if (NOT_SPEC_COMPLIANT.has(name)) {
      it(`${name} is refused: expires is not YYYY-MM-DDTHH:MM:SSZ`, () => {
        expect(() => Metadata.fromBytes(readFileSync(file))).toThrow(DeserializationError);
      });
      continue;
    }
    it(name, () => {
      const bytes = readFileSync(file);
      const doc = JSON.parse(bytes.toString('utf8')) as Json;
      const md = Metadata.fromBytes(bytes);
      // What signatures cover: the canonical form of `signed` as received...
      expect(md.signedBytes.equals(canonicalize(doc.signed))).toBe(true);
      // ...and the model writes the same thing back, unknown fields included.
      expect(canonicalize(md.signed.toJSON()).equals(md.signedBytes)).toBe(true);
      expect(canonicalize(md.toJSON()).equals(canonicalize(doc))).toBe(true);
      // A model rebuilt from its own JSON is the same model.
      expect(canonicalize(md.editable().signed.toJSON()).equals(md.signedBytes)).toBe(true);
      if (name.startsWith('repos/')) {
        // python-tuf's JSONSerializer layout (indent 1, sorted keys); ours adds a final newline.
        expect(md.toBytes().toString('utf8')).toBe(`${bytes.toString('utf8')}\n`);
      }
    });
  }

  it("signed bytes of the canonical-json tuf-* cases are exactly securesystemslib's", () => {
    const cases = (JSON.parse(read('canonical-json.json').toString('utf8')) as Array<Json>).filter(
      (c) => c.source_file,
    );
    expect(cases.length).toBeGreaterThan(5);
    for (const c of cases) {
      const md = Metadata.fromBytes(read(c.source_file));
      expect(md.signedBytes.toString('base64'), c.name).toBe(c.canonical_b64);
      expect(sha256(md.signedBytes), c.name).toBe(c.canonical_sha256);
    }
  });
});

describe('unknown fields are kept', () => {
  it('in every object of root, timestamp, snapshot and targets, and in the envelope', () => {
    const root = readJson('repos/basic/metadata/1.root.json');
    root.x_envelope = { a: 1 };
    root.signatures[0].x_sig = 'note';
    root.signed.x_signed = [1, 'two', { three: null }];
    const [keyid] = Object.keys(root.signed.keys);
    root.signed.keys[keyid].x_keyowner = '@alice';
    root.signed.keys[keyid].keyval.x_extra = 'kept';
    root.signed.roles.timestamp.x_role = true;

    const ts = readJson('repos/basic/metadata/timestamp.json');
    ts.signed.meta['snapshot.json'].x_meta = 'm';

    const targets = readJson('repos/delegations/metadata/2.targets.json');
    const [path] = Object.keys(targets.signed.targets);
    targets.signed.targets[path].custom = { nested: { deep: [1, 2] } };
    targets.signed.targets[path].x_target = 7;
    targets.signed.delegations.x_delegations = 'd';
    targets.signed.delegations.roles[0].x_delegated = 'r';
    const packages = readJson('repos/delegations/metadata/1.packages.json');
    packages.signed.delegations.succinct_roles.x_succinct = 's';

    for (const doc of [root, ts, targets, packages]) {
      const md = Metadata.fromBytes(bytesOf(doc));
      expect(md.toJSON()).toEqual(doc);
      expect(md.signedBytes.equals(canonicalize(doc.signed))).toBe(true);
      expect(canonicalize(md.editable().signed.toJSON()).equals(canonicalize(doc.signed))).toBe(true);
    }
    const md = Metadata.fromBytes(bytesOf(targets), 'targets');
    expect(md.signed.targets.get(path)!.custom).toEqual({ nested: { deep: [1, 2] } });
  });

  it('a field named __proto__ stays an own field and pollutes nothing', () => {
    const doc = readJson('repos/basic/metadata/1.targets.json');
    const text = JSON.stringify(doc).replace('"signed":{', '"signed":{"__proto__":{"polluted":true},');
    const md = Metadata.fromBytes(Buffer.from(text), 'targets');
    expect(Object.prototype.hasOwnProperty.call(md.signed.unrecognized, '__proto__')).toBe(true);
    expect(({} as Json).polluted).toBeUndefined();
    expect(md.signedBytes.toString()).toContain('"__proto__":{"polluted":true}');
  });
});

/** A mutated copy of a vector document; `fn` edits it in place. */
function mutated(path: string, fn: (doc: Json) => void): Buffer {
  const doc = readJson(path);
  fn(doc);
  return bytesOf(doc);
}

const ROOT = 'repos/basic/metadata/1.root.json';
const TIMESTAMP = 'repos/basic/metadata/timestamp.json';
const SNAPSHOT = 'repos/delegations/metadata/3.snapshot.json';
const TARGETS = 'repos/basic/metadata/1.targets.json';
const DELEGATING = 'repos/delegations/metadata/2.targets.json';
const SUCCINCT = 'repos/delegations/metadata/1.packages.json';

describe('type and range errors are DeserializationError', () => {
  const invalid: Array<[string, string, (doc: Json) => void]> = [
    ['negative version', ROOT, (d) => (d.signed.version = -1)],
    ['version 0', ROOT, (d) => (d.signed.version = 0)],
    ['float version', TIMESTAMP, (d) => (d.signed.version = 1.5)],
    ['string version', TIMESTAMP, (d) => (d.signed.version = '1')],
    ['version beyond 2^53', TIMESTAMP, (d) => (d.signed.version = 2 ** 53)],
    ['missing version', TARGETS, (d) => delete d.signed.version],
    ['expires without Z', ROOT, (d) => (d.signed.expires = '2030-01-01T00:00:00')],
    ['expires with a space', ROOT, (d) => (d.signed.expires = '2030-01-01 00:00:00Z')],
    ['expires with fractional seconds', ROOT, (d) => (d.signed.expires = '2030-01-01T00:00:00.5Z')],
    ['expires with an offset', ROOT, (d) => (d.signed.expires = '2030-01-01T00:00:00+00:00')],
    ['expires on an impossible date', ROOT, (d) => (d.signed.expires = '2030-02-30T00:00:00Z')],
    ['expires at 24:00', ROOT, (d) => (d.signed.expires = '2030-01-01T24:00:00Z')],
    ['expires in lower case', ROOT, (d) => (d.signed.expires = '2030-01-01t00:00:00z')],
    ['expires with a one-digit month', ROOT, (d) => (d.signed.expires = '2030-1-01T00:00:00Z')],
    ['expires as a number', ROOT, (d) => (d.signed.expires = 1893456000)],
    ['empty expires', ROOT, (d) => (d.signed.expires = '')],
    ['spec_version 2.0', ROOT, (d) => (d.signed.spec_version = '2.0')],
    ['spec_version 2.0.0', ROOT, (d) => (d.signed.spec_version = '2.0.0')],
    ['spec_version 0.9.0', ROOT, (d) => (d.signed.spec_version = '0.9.0')],
    ['spec_version with one part', ROOT, (d) => (d.signed.spec_version = '1')],
    ['spec_version with four parts', ROOT, (d) => (d.signed.spec_version = '1.0.0.0')],
    ['spec_version with a v', ROOT, (d) => (d.signed.spec_version = 'v1.0.0')],
    ['spec_version as a number', ROOT, (d) => (d.signed.spec_version = 1)],
    ['_type of another role', ROOT, (d) => (d.signed._type = 'targets')],
    ['_type in another case', ROOT, (d) => (d.signed._type = 'Root')],
    ['unknown _type', ROOT, (d) => (d.signed._type = 'mirrors')],
    ['root missing the timestamp role', ROOT, (d) => delete d.signed.roles.timestamp],
    ['root missing the root role', ROOT, (d) => delete d.signed.roles.root],
    ['root with an unknown role', ROOT, (d) => (d.signed.roles.mirror = d.signed.roles.root)],
    ['threshold 0', ROOT, (d) => (d.signed.roles.root.threshold = 0)],
    ['negative threshold', ROOT, (d) => (d.signed.roles.snapshot.threshold = -1)],
    ['string threshold', ROOT, (d) => (d.signed.roles.snapshot.threshold = '1')],
    ['duplicate keyids in a role', ROOT, (d) => d.signed.roles.root.keyids.push(d.signed.roles.root.keyids[0])],
    ['a keyid that is not a string', ROOT, (d) => d.signed.roles.root.keyids.push(1)],
    ['consistent_snapshot not a boolean', ROOT, (d) => (d.signed.consistent_snapshot = 'true')],
    ['keyval.public not a string', ROOT, (d) => (Object.values(d.signed.keys as Json)[0].keyval.public = 1)],
    ['key without keytype', ROOT, (d) => delete Object.values(d.signed.keys as Json)[0].keytype],
    ['two signatures with one keyid', ROOT, (d) => d.signatures.push({ ...d.signatures[0] })],
    ['signatures not an array', ROOT, (d) => (d.signatures = {})],
    ['signature without sig', ROOT, (d) => delete d.signatures[0].sig],
    ['signature sig not a string', ROOT, (d) => (d.signatures[0].sig = 0)],
    ['no signed', ROOT, (d) => delete d.signed],
    ['timestamp meta without snapshot.json', TIMESTAMP, (d) => (d.signed.meta = { 'targets.json': { version: 1 } })],
    ['timestamp meta with another entry', TIMESTAMP, (d) => (d.signed.meta['targets.json'] = { version: 1 })],
    ['metafile version 0', TIMESTAMP, (d) => (d.signed.meta['snapshot.json'].version = 0)],
    ['metafile negative length', TIMESTAMP, (d) => (d.signed.meta['snapshot.json'].length = -1)],
    ['metafile empty hashes', TIMESTAMP, (d) => (d.signed.meta['snapshot.json'].hashes = {})],
    ['metafile hash not a string', TIMESTAMP, (d) => (d.signed.meta['snapshot.json'].hashes = { sha256: 1 })],
    ['snapshot meta entry not an object', SNAPSHOT, (d) => (d.signed.meta['targets.json'] = 2)],
    ['target with negative length', TARGETS, (d) => (Object.values(d.signed.targets as Json)[0].length = -1)],
    ['target with float length', TARGETS, (d) => (Object.values(d.signed.targets as Json)[0].length = 1.5)],
    ['target without hashes', TARGETS, (d) => delete Object.values(d.signed.targets as Json)[0].hashes],
    ['target with empty hashes', TARGETS, (d) => (Object.values(d.signed.targets as Json)[0].hashes = {})],
    ['targets not an object', TARGETS, (d) => (d.signed.targets = [])],
    [
      'delegated role with paths and path_hash_prefixes',
      DELEGATING,
      (d) => (d.signed.delegations.roles[0].path_hash_prefixes = ['ab']),
    ],
    [
      'delegated role with neither paths nor path_hash_prefixes',
      DELEGATING,
      (d) => delete d.signed.delegations.roles[0].paths,
    ],
    ['path_hash_prefixes not hex', DELEGATING, (d) => (d.signed.delegations.roles[1].path_hash_prefixes = ['xyz'])],
    ['delegated role without terminating', DELEGATING, (d) => delete d.signed.delegations.roles[0].terminating],
    ['delegated role named root', DELEGATING, (d) => (d.signed.delegations.roles[0].name = 'root')],
    ['delegated role named targets', DELEGATING, (d) => (d.signed.delegations.roles[0].name = 'targets')],
    ['delegated role named snapshot', DELEGATING, (d) => (d.signed.delegations.roles[0].name = 'snapshot')],
    ['delegated role named timestamp', DELEGATING, (d) => (d.signed.delegations.roles[0].name = 'timestamp')],
    ['delegated role named ..', DELEGATING, (d) => (d.signed.delegations.roles[0].name = '..')],
    ['empty delegated role name', DELEGATING, (d) => (d.signed.delegations.roles[0].name = '')],
    [
      'two delegated roles with one name',
      DELEGATING,
      (d) => (d.signed.delegations.roles[1].name = d.signed.delegations.roles[0].name),
    ],
    ['delegations with roles and succinct_roles', SUCCINCT, (d) => (d.signed.delegations.roles = [])],
    ['delegations with neither roles nor succinct_roles', SUCCINCT, (d) => delete d.signed.delegations.succinct_roles],
    ['succinct bit_length 0', SUCCINCT, (d) => (d.signed.delegations.succinct_roles.bit_length = 0)],
    ['succinct bit_length 33', SUCCINCT, (d) => (d.signed.delegations.succinct_roles.bit_length = 33)],
    ['succinct bit_length 4.5', SUCCINCT, (d) => (d.signed.delegations.succinct_roles.bit_length = 4.5)],
    ['succinct without name_prefix', SUCCINCT, (d) => delete d.signed.delegations.succinct_roles.name_prefix],
  ];

  for (const [what, path, edit] of invalid) {
    it(what, () => {
      const bytes = mutated(path, edit);
      expect(() => Metadata.fromBytes(bytes)).toThrow(DeserializationError);
    });
  }

  it('not UTF-8, not JSON, not an object', () => {
    for (const bytes of [
      Buffer.from([0xff, 0xfe]),
      Buffer.from('{"signed":'),
      Buffer.from('[]'),
      Buffer.from('null'),
      Buffer.from(''),
    ]) {
      expect(() => Metadata.fromBytes(bytes)).toThrow(DeserializationError);
    }
  });

  it('a document of the wrong role for what was asked', () => {
    expect(() => Metadata.fromBytes(read(TIMESTAMP), 'snapshot')).toThrow(DeserializationError);
    expect(() => Metadata.fromBytes(read(ROOT), 'targets')).toThrow(DeserializationError);
  });

  it('accepts the boundaries: succinct bit_length 1 and 32, spec_version 1.0 and 1.99.0, version 2^53-1', () => {
    for (const bits of [1, 32]) {
      const md = Metadata.fromBytes(
        mutated(SUCCINCT, (d) => (d.signed.delegations.succinct_roles.bit_length = bits)),
        'targets',
      );
      expect(md.signed.delegations!.succinctRoles!.numberOfBins).toBe(2 ** bits);
    }
    for (const v of ['1.0', '1.99.0'])
      expect(Metadata.fromBytes(mutated(ROOT, (d) => (d.signed.spec_version = v))).signed.specVersion).toBe(v);
    expect(
      Metadata.fromBytes(mutated(TIMESTAMP, (d) => (d.signed.version = Number.MAX_SAFE_INTEGER))).signed.version,
    ).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('path patterns match per segment, as python-tuf does with fnmatch', () => {
  // [target path, pattern, python-tuf's verdict]: computed with python3's fnmatch.fnmatchcase
  // on each '/'-separated segment, the pattern and path having the same number of segments.
  const table: Array<[string, string, boolean]> = [
    ['releases/app.tgz', 'releases/*', true],
    ['releases/beta/app.tgz', 'releases/*', false],
    ['releases', 'releases/*', false],
    ['releases/', 'releases/*', true],
    ['file.txt', '*', true],
    ['dir/file.txt', '*', false],
    ['pkg/a.tgz', '*/*.tgz', true],
    ['a.tgz', '*/*.tgz', false],
    ['a/b/c.tgz', '*/*.tgz', false],
    ['a/b/c.tgz', '*/*/*.tgz', true],
    ['file-1.txt', 'file-?.txt', true],
    ['file-10.txt', 'file-?.txt', false],
    ['file-.txt', 'file-?.txt', false],
    ['a/b', 'a?b', false],
    ['v1.txt', 'v[0-9].txt', true],
    ['va.txt', 'v[0-9].txt', false],
    ['va.txt', 'v[!0-9].txt', true],
    ['v1.txt', 'v[!0-9].txt', false],
    ['vb.txt', 'v[abc].txt', true],
    ['vd.txt', 'v[abc].txt', false],
    ['abtxt', 'a.txt', false],
    ['a.txt', 'a.txt', true],
    ['A.txt', 'a.txt', false],
    ['c++/(x).txt', 'c++/(x).txt', true],
    ['cc/(x).txt', 'c+/(x).txt', false],
    ['a^b$', 'a^b$', true],
    ['a|b', 'a|b', true],
    ['a', 'a|b', false],
    ['x{1}', 'x{1}', true],
    ['xx', 'x{2}', false],
    ['a\\b', 'a\\b', true],
    ['ab', 'a\\b', false],
    ['', '*', true],
    ['a', '**', true],
    ['dir/sub/file', 'dir/**', false],
    ['[x', '[x', true],
    ['x', '[x', false],
    [']', '[]]', true],
    ['-', '[a-]', true],
    ['b', '[a-]', false],
    ['é', '?', true],
  ];
  for (const [path, pattern, expected] of table) {
    it(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(path)}`, () => {
      expect(isTargetInPathPattern(path, pattern)).toBe(expected);
    });
  }

  // Bracket edge cases where fnmatch's reading of the pattern is the reference.
  const brackets: Array<[string, string, boolean]> = [
    ['a', '[!]]', true], // "any character but ]"
    ['a]', '[!]]', false],
    ['x', '[!]', false], // no closing bracket after the set: a literal "[!]"
    ['[!]', '[!]', true],
  ];
  for (const [path, pattern, expected] of brackets) {
    it(`bracket edge case: ${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(path)}`, () => {
      expect(isTargetInPathPattern(path, pattern)).toBe(expected);
    });
  }

  it('a reversed range such as [z-a] matches nothing and does not throw', () => {
    // fnmatch drops empty ranges; a JS RegExp built from it throws SyntaxError, which would
    // abort the whole target search with a non-TufError.
    expect(() => isTargetInPathPattern('b', '[z-a]')).not.toThrow();
    expect(isTargetInPathPattern('b', '[z-a]')).toBe(false);
    // The search asks every pattern of a role; the next one ('*') would have matched.
    const role = new DelegatedRole('r', [], 1, false, ['[z-a]', '*'], undefined);
    const delegations = new Delegations({}, [role], undefined);
    expect(() => [...delegations.getRolesForTarget('file')]).not.toThrow();
  });

  it('? and [seq] match one character, not one UTF-16 unit', () => {
    expect(isTargetInPathPattern('a😀', 'a?')).toBe(true);
    expect(isTargetInPathPattern('😀', '[😀]')).toBe(true);
  });

  it('path_hash_prefixes delegate by the sha256 of the path (the delegations vector)', () => {
    const expected = readJson('repos/delegations/expected.json');
    const targets = Metadata.fromBytes(read(DELEGATING), 'targets').signed;
    const hashed = targets.delegations!.roles!.find((r) => r.name === 'hashed')!;
    const prefixes = expected.delegations.hashed_path_hash_prefixes as string[];
    expect(hashed.pathHashPrefixes).toEqual(prefixes);
    for (const [path, info] of Object.entries(expected.path_hashes as Record<string, { sha256_of_path: string }>)) {
      expect(info.sha256_of_path).toBe(sha256(path));
      expect(hashed.isDelegatedPath(path), path).toBe(prefixes.some((p) => info.sha256_of_path.startsWith(p)));
    }
  });
});

describe('succinct hash bins (TAP 15)', () => {
  const expected = readJson('repos/delegations/expected.json');
  const packages = Metadata.fromBytes(read(SUCCINCT), 'targets').signed;
  const succinct = packages.delegations!.succinctRoles!;

  it('bin names are the ones python-tuf generated', () => {
    expect(succinct.bitLength).toBe(expected.delegations.succinct_roles.bit_length);
    expect([...succinct.roleNames()]).toEqual(expected.delegations.succinct_roles.bins);
  });

  it('every path of the vector lands in the bin python-tuf put it in', () => {
    const entries = Object.entries(expected.path_hashes as Record<string, { bin: string }>);
    expect(entries.length).toBeGreaterThan(10);
    for (const [path, { bin }] of entries) {
      expect(succinct.getRoleForTarget(path), path).toBe(bin);
      expect([...packages.delegations!.getRolesForTarget(path)]).toEqual([{ name: bin, terminating: true }]);
      expect(packages.getRole(bin)).toBe(succinct);
    }
  });

  it('names are zero-padded to ceil(bit_length / 4) hex digits; only real bins are delegated', () => {
    const five = new SuccinctRoles([], 1, 5, 'p');
    expect([...five.roleNames()].slice(0, 2)).toEqual(['p-00', 'p-01']);
    expect([...five.roleNames()].at(-1)).toBe('p-1f');
    expect(five.isDelegatedRole('p-1f')).toBe(true);
    expect(five.isDelegatedRole('p-20')).toBe(false);
    expect(five.isDelegatedRole('p-1F')).toBe(false);
    expect(five.isDelegatedRole('p-1')).toBe(false);
    expect(five.isDelegatedRole('q-00')).toBe(false);
    const one = new SuccinctRoles([], 1, 1, 'b');
    expect([...one.roleNames()]).toEqual(['b-0', 'b-1']);
    // bit_length 32: the bin is the first four bytes of sha256(path), as 8 hex digits.
    const all = new SuccinctRoles([], 1, 32, 'x');
    expect(all.getRoleForTarget('packages/pkg-00.tgz')).toBe(`x-${sha256('packages/pkg-00.tgz').slice(0, 8)}`);
  });
});

describe('thresholds count each key once', () => {
  const expires = '2099-01-01T00:00:00Z';

  async function signedTargets(signers: Signer[]): Promise<Metadata<Targets>> {
    const md = new Metadata(new Targets({ version: 1, expires }, new Map()));
    for (const s of signers) await md.sign(s);
    return md;
  }

  /** A delegator trusting `keys` (keyid -> key) for role 'r' with `threshold`. */
  function delegator(keys: Record<string, PublicKey>, threshold: number): Targets {
    const role = new DelegatedRole('r', Object.keys(keys), threshold, false, ['*'], undefined);
    return new Targets({ version: 1, expires }, new Map(), new Delegations(keys, [role], undefined));
  }

  /** Signatures of `md` copied under `alias` keyids (the same signature bytes). */
  function withAliases(md: Metadata, aliases: Record<string, string>): Metadata {
    for (const [alias, keyid] of Object.entries(aliases))
      md.signatures.set(alias, { keyid: alias, sig: md.signatures.get(keyid)!.sig });
    return md;
  }

  const ed = signerFromPrivateKeyPem(generateKey('ed25519').privateKeyPem);
  const ed2 = signerFromPrivateKeyPem(generateKey('ed25519').privateKeyPem);
  const ec = signerFromPrivateKeyPem(generateKey('ecdsa-p256').privateKeyPem);

  it('two distinct keys meet a threshold of 2', async () => {
    const md = await signedTargets([ed, ed2]);
    const d = delegator({ [ed.keyid]: ed.publicKey, [ed2.keyid]: ed2.publicKey }, 2);
    expect(countSignatures(d.getRole('r')!, d.keys, md).signedBy).toHaveLength(2);
    expect(() => verifyDelegate(d, 'r', md)).not.toThrow();
  });

  it('one key listed under two keyids does not', async () => {
    const md = withAliases(await signedTargets([ed]), { alias: ed.keyid });
    const d = delegator({ [ed.keyid]: ed.publicKey, alias: { ...ed.publicKey } }, 2);
    const count = countSignatures(d.getRole('r')!, d.keys, md);
    expect(count.signedBy).toEqual([ed.keyid]);
    expect(count.missing).toEqual(['alias']);
    expect(() => verifyDelegate(d, 'r', md)).toThrow(UnsignedMetadataError);
  });

  it('nor does one root key listed twice in root', async () => {
    const roles = Object.fromEntries(
      ['root', 'timestamp', 'snapshot', 'targets'].map((r) => [r, new Role([ed.keyid, 'alias'], 2)]),
    ) as Root['roles'];
    const root = new Root(
      { version: 1, expires },
      { [ed.keyid]: ed.publicKey, alias: { ...ed.publicKey } },
      roles,
      true,
    );
    const md = new Metadata<AnySigned>(root);
    await md.sign(ed);
    withAliases(md, { alias: ed.keyid });
    expect(() => verifyDelegate(root, 'root', md)).toThrow(UnsignedMetadataError);
  });

  // The same key material written differently is still one key: each spelling verifies the
  // same signatures, so counting spellings would let one key holder meet a threshold alone.
  const respelled: Array<[string, Signer, (k: PublicKey) => PublicKey]> = [
    ['ed25519 public key in upper-case hex', ed, (k) => ({ ...k, keyval: { public: k.keyval.public.toUpperCase() } })],
    ['ecdsa PEM without its final newline', ec, (k) => ({ ...k, keyval: { public: k.keyval.public.trimEnd() } })],
    [
      'ecdsa PEM with CRLF line ends',
      ec,
      (k) => ({ ...k, keyval: { public: k.keyval.public.replace(/\n/g, '\r\n') } }),
    ],
    ['ecdsa key under the legacy keytype ecdsa-sha2-nistp256', ec, (k) => ({ ...k, keytype: 'ecdsa-sha2-nistp256' })],
    [
      'ecdsa P-256 key with its point compressed (SEC 1)',
      ec,
      (k) => ({ ...k, keyval: { public: compressedP256Pem(k.keyval.public) } }),
    ],
  ];
  /** The same P-256 public key as an SPKI whose point is compressed (33 bytes: 02/03 and x). */
  function compressedP256Pem(pem: string): string {
    const { x, y } = createPublicKey(pem).export({ format: 'jwk' });
    const yOdd = Buffer.from(y!, 'base64url').at(-1)! & 1;
    const point = Buffer.concat([Buffer.from([yOdd ? 3 : 2]), Buffer.from(x!, 'base64url')]);
    // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (33-byte point) }
    const prefix = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
    const der = Buffer.concat([prefix, point]);
    expect(createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ format: 'jwk' })).toMatchObject({
      x,
      y,
    });
    return derToPem(der, 'PUBLIC KEY');
  }

  for (const [what, signer, respell] of respelled) {
    it(`one key listed again as ${what} counts once`, async () => {
      const md = withAliases(await signedTargets([signer]), { alias: signer.keyid });
      const alias = respell(signer.publicKey);
      const d = delegator({ [signer.keyid]: signer.publicKey, alias }, 2);
      // The respelled key is a usable key on its own (else this test would prove nothing).
      const alone = delegator({ alias }, 1);
      expect(() => verifyDelegate(alone, 'r', md)).not.toThrow();
      expect(countSignatures(d.getRole('r')!, d.keys, md).signedBy).toHaveLength(1);
      expect(() => verifyDelegate(d, 'r', md)).toThrow(UnsignedMetadataError);
    });
  }

  it('signatures by keys the role does not list, and empty signatures, count for nothing', async () => {
    const md = await signedTargets([ed, ed2]);
    md.signatures.set('empty', { keyid: 'empty', sig: '' });
    const d = delegator({ [ed.keyid]: ed.publicKey, empty: ed2.publicKey }, 2);
    const count = countSignatures(d.getRole('r')!, d.keys, md);
    expect(count.signedBy).toEqual([ed.keyid]);
    expect(() => verifyDelegate(d, 'r', md)).toThrow(UnsignedMetadataError);
    expect(() => verifyDelegate(d, 'unknown-role', md)).toThrow(TufError);
  });
});
