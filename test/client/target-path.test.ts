import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValueError } from '../../updater/core/errors.js';
import {
  MAX_FILE_NAME_LENGTH,
  metadataUrl,
  percentEncode,
  targetFileName,
  targetFilePath,
  targetUrl,
  validateTargetPath,
} from '../../updater/client/target-path.js';

const TARGET_DIR = join(tmpdir(), 'tuf-targets');

/** Any UTF-16 string, lone surrogates included, mixed with fragments that attack paths. */
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc
    .array(
      fc.constantFrom(
        '..',
        '.',
        '/',
        '\\',
        '%2e',
        '%2E%2e',
        '%2f',
        '%',
        'C:',
        '\0',
        'con',
        'NUL.',
        ' ',
        'a',
        'é',
        '\u{1F600}',
        '\uD800',
        '~',
      ),
      {
        maxLength: 20,
      },
    )
    .map((parts) => parts.join('')),
  fc.string({ unit: 'grapheme', minLength: 100, maxLength: 1500 }),
);

/** What every stored name must look like to mean one plain file on Linux, macOS and Windows. */
function expectPortableName(name: string): void {
  expect(name).toMatch(/^[A-Za-z0-9._~%+-]+$/);
  expect(name.length).toBeLessThanOrEqual(MAX_FILE_NAME_LENGTH);
  expect(name).not.toMatch(/\.$/);
  expect(name).not.toMatch(/^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\.|$)/i);
}

function isValidTargetPath(path: string): boolean {
  try {
    validateTargetPath(path);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(ValueError);
    return false;
  }
}

describe('percentEncode', () => {
  // Expected values from Python 3: urllib.parse.quote(s, '').
  it.each([
    ['a/b.txt', 'a%2Fb.txt'],
    ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd'],
    ['C:\\Windows\\x', 'C%3A%5CWindows%5Cx'],
    ['%2e%2e/x', '%252e%252e%2Fx'],
    ["!'()*~ _-.", '%21%27%28%29%2A~%20_-.'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
    ['a\0b', 'a%00b'],
    ['\u{1F600}', '%F0%9F%98%80'],
    ['+ ?#&=', '%2B%20%3F%23%26%3D'],
  ])('%j -> %s, as python-tuf names it', (input, expected) => {
    expect(percentEncode(input)).toBe(expected);
  });

  it('refuses lone surrogates, which have no UTF-8 form', () => {
    expect(() => percentEncode('a\uD800')).toThrow(ValueError);
    expect(() => percentEncode('\uDC00b')).toThrow(ValueError);
  });
});

describe('validateTargetPath', () => {
  it.each([
    ['empty', ''],
    ['NUL', 'a\0b'],
    ['lone surrogate', 'x\uD83D'],
    ['over 4096 bytes', 'a'.repeat(4097)],
    ['over 4096 bytes in UTF-8', 'é'.repeat(2049)],
  ])('refuses %s', (_, path) => {
    expect(() => validateTargetPath(path)).toThrow(ValueError);
  });

  it('refuses non-strings', () => {
    expect(() => validateTargetPath(42)).toThrow(ValueError);
    expect(() => validateTargetPath(undefined)).toThrow(ValueError);
  });

  it('accepts up to 4096 bytes and odd but harmless paths', () => {
    for (const path of ['a'.repeat(4096), 'é'.repeat(2048), '../x', '/abs', 'a b', '\u{1F600}']) {
      expect(() => validateTargetPath(path)).not.toThrow();
    }
  });
});

describe('targetFilePath', () => {
  it('stores a path as one percent-encoded name, as python-tuf does', () => {
    expect(targetFilePath(TARGET_DIR, 'a/b.txt')).toBe(join(TARGET_DIR, 'a%2Fb.txt'));
    expect(targetFilePath(TARGET_DIR, 'releases/1.0/app.tar.gz')).toBe(join(TARGET_DIR, 'releases%2F1.0%2Fapp.tar.gz'));
    expect(targetFilePath(`${TARGET_DIR}/sub/..`, 'file.txt')).toBe(join(TARGET_DIR, 'file.txt'));
  });

  it.each([
    ['..', '.%2E'],
    ['.', '%2E'],
    ['...', '..%2E'],
    ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd'],
    ['/etc/passwd', '%2Fetc%2Fpasswd'],
    ['..\\..\\windows\\system32', '..%5C..%5Cwindows%5Csystem32'],
    ['C:\\Windows\\evil.dll', 'C%3A%5CWindows%5Cevil.dll'],
    ['C:evil', 'C%3Aevil'],
    ['\\\\server\\share\\x', '%5C%5Cserver%5Cshare%5Cx'],
    ['%2e%2e/%2e%2e/x', '%252e%252e%2F%252e%252e%2Fx'],
    ['%2F', '%252F'],
    ['file:///etc/passwd', 'file%3A%2F%2F%2Fetc%2Fpasswd'],
    ['con', '%63on'],
    ['NUL.txt', '%4EUL.txt'],
    ['com1.tar.gz', '%63om1.tar.gz'],
    ['console', 'console'],
    ['app.', 'app%2E'],
    ['app ', 'app%20'],
    ['a:stream', 'a%3Astream'],
    ['a\u202Eexe.txt', 'a%E2%80%AEexe.txt'],
    ['~', '~'],
  ])('%j stays inside the directory as %s', (path, name) => {
    const filePath = targetFilePath(TARGET_DIR, path);
    expect(filePath).toBe(join(TARGET_DIR, name));
    expect(dirname(filePath)).toBe(resolve(TARGET_DIR));
    expect(decodeURIComponent(name)).toBe(path);
    expectPortableName(name);
  });

  it('shortens names too long for the file system to a prefix and the path hash', () => {
    const long = `releases/${'x'.repeat(400)}/app.zip`;
    const name = targetFileName(long);
    expect(name.length).toBeLessThanOrEqual(MAX_FILE_NAME_LENGTH);
    expect(name.endsWith(`+${createHash('sha256').update(long).digest('hex')}`)).toBe(true);
    expect(name.startsWith('releases%2Fxxx')).toBe(true);
    expect(targetFileName(`${long}.sig`)).not.toBe(name);
    expectPortableName(name);
  });

  it('never cuts a %XX escape when shortening', () => {
    for (let pad = 0; pad < 9; pad++) {
      const name = targetFileName(`${'a'.repeat(pad)}${'日'.repeat(200)}`);
      const prefix = name.slice(0, name.lastIndexOf('+'));
      expect(() => decodeURIComponent(prefix)).not.toThrow();
      expectPortableName(name);
    }
  });

  it('refuses invalid target paths with ValueError', () => {
    for (const bad of ['', 'a\0b', 'x\uDFFF', 'a'.repeat(5000)]) {
      expect(() => targetFilePath(TARGET_DIR, bad)).toThrow(ValueError);
    }
  });

  it('property: any string gives ValueError or a portable name directly inside targetDir', () => {
    fc.assert(
      fc.property(hostileString, (path) => {
        if (!isValidTargetPath(path)) {
          expect(() => targetFilePath(TARGET_DIR, path)).toThrow(ValueError);
          return;
        }
        const filePath = targetFilePath(TARGET_DIR, path);
        expect(dirname(filePath)).toBe(resolve(TARGET_DIR));
        const name = basename(filePath);
        expectPortableName(name);
        if (!name.includes('+')) expect(decodeURIComponent(name)).toBe(path); // same name python-tuf would use
      }),
      { numRuns: 2000 },
    );
  });

  it('property: distinct target paths get distinct names', () => {
    fc.assert(
      fc.property(hostileString, hostileString, (a, b) => {
        fc.pre(a !== b && isValidTargetPath(a) && isValidTargetPath(b));
        expect(targetFileName(a)).not.toBe(targetFileName(b));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('targetUrl', () => {
  const hash = 'ab'.repeat(32);

  it('joins base and path with or without a trailing slash', () => {
    expect(targetUrl('https://cdn.example/targets', 'releases/1.0/app.tar.gz')).toBe(
      'https://cdn.example/targets/releases/1.0/app.tar.gz',
    );
    expect(targetUrl('https://cdn.example/targets/', 'releases/1.0/app.tar.gz')).toBe(
      'https://cdn.example/targets/releases/1.0/app.tar.gz',
    );
  });

  it('prefixes the basename with the hash for consistent snapshots (5.7.3)', () => {
    expect(targetUrl('https://cdn.example/targets/', 'releases/1.0/app.tar.gz', hash)).toBe(
      `https://cdn.example/targets/releases/1.0/${hash}.app.tar.gz`,
    );
    expect(targetUrl('https://cdn.example/t', 'app.zip', hash)).toBe(`https://cdn.example/t/${hash}.app.zip`);
  });

  it('encodes each segment, so nothing in a name changes the URL structure', () => {
    expect(targetUrl('https://x.example/t', 'My App/a b#c?d=e&f.zip')).toBe(
      'https://x.example/t/My%20App/a%20b%23c%3Fd%3De%26f.zip',
    );
    expect(targetUrl('https://x.example/t', '%2e%2e/x')).toBe('https://x.example/t/%252e%252e/x');
    expect(targetUrl('https://x.example/t', '..\\..\\x')).toBe('https://x.example/t/..%5C..%5Cx');
    expect(targetUrl('https://x.example/t', '日本/ü.txt')).toBe('https://x.example/t/%E6%97%A5%E6%9C%AC/%C3%BC.txt');
  });

  it('refuses dot segments, which URL parsers would resolve out of the base', () => {
    for (const path of ['../x', 'a/../../x', './x', 'a/.', '..']) {
      expect(() => targetUrl('https://x.example/t/', path)).toThrow(ValueError);
    }
  });

  it('refuses bad base URLs and invalid paths', () => {
    expect(() => targetUrl('not a url', 'a')).toThrow(ValueError);
    expect(() => targetUrl('https://x.example/t?sig=1', 'a')).toThrow(ValueError);
    expect(() => targetUrl('https://x.example/t#frag', 'a')).toThrow(ValueError);
    expect(() => targetUrl('https://x.example/t', '')).toThrow(ValueError);
    expect(() => targetUrl('https://x.example/t', 'a', '')).toThrow(ValueError);
  });

  it('property: the URL stays under the base and its segments decode to the path', () => {
    const base = 'https://cdn.example/repo/targets/';
    fc.assert(
      fc.property(hostileString, (path) => {
        fc.pre(isValidTargetPath(path) && !path.split('/').some((s) => s === '.' || s === '..'));
        const url = new URL(targetUrl(base, path));
        expect(url.origin).toBe('https://cdn.example');
        expect(url.search).toBe('');
        expect(url.hash).toBe('');
        expect(url.pathname.startsWith('/repo/targets/')).toBe(true);
        const segments = url.pathname.slice('/repo/targets/'.length).split('/').map(decodeURIComponent);
        expect(segments.join('/')).toBe(path);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('metadataUrl', () => {
  it('builds <base>/<version>.<role>.json and <base>/<role>.json', () => {
    expect(metadataUrl('https://x.example/metadata', 'root', 3)).toBe('https://x.example/metadata/3.root.json');
    expect(metadataUrl('https://x.example/metadata/', 'timestamp')).toBe('https://x.example/metadata/timestamp.json');
  });

  it('encodes a delegated role name as one segment', () => {
    expect(metadataUrl('https://x.example/m', 'a/b', 2)).toBe('https://x.example/m/2.a%2Fb.json');
    expect(metadataUrl('https://x.example/m', '..')).toBe('https://x.example/m/...json');
    expect(metadataUrl('https://x.example/m', 'role #1?')).toBe('https://x.example/m/role%20%231%3F.json');
  });

  it('refuses empty roles and versions that are not positive integers', () => {
    expect(() => metadataUrl('https://x.example/m', '')).toThrow(ValueError);
    for (const version of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => metadataUrl('https://x.example/m', 'root', version)).toThrow(ValueError);
    }
  });
});
