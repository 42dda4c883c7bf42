/**
 * Strict JSON from bytes (node-io/json-bytes.ts), the one parser of JSON files and documents
 * other than TUF metadata: malformed UTF-8 is refused, never replaced by U+FFFD, so that two
 * readers of the same bytes cannot disagree about what they say.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeserializationError, StorageError, ValueError } from '../../updater/core/errors.js';
import { decodeUtf8Strict, parseJsonBytes } from '../../updater/node-io/index.js';
import { readConfig } from '../../publisher/config.js';
import { repositoryPaths } from '../../publisher/layout.js';

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
/** `{"a": "<lone continuation byte>"}`: Buffer#toString would read it as "\ufffd". */
const MALFORMED = Uint8Array.from([...utf8('{"a": "'), 0x80, ...utf8('"}')]);

describe('parseJsonBytes', () => {
  it('parses JSON in UTF-8; a leading byte order mark (Windows editors) is skipped', () => {
    expect(parseJsonBytes(utf8('{"a": ["é", 1]}'), 'x')).toEqual({ a: ['é', 1] });
    expect(parseJsonBytes(Uint8Array.from([0xef, 0xbb, 0xbf, ...utf8('{}')]), 'x')).toEqual({});
    expect(() => parseJsonBytes(utf8('{} {}'), 'x')).toThrow(DeserializationError);
  });

  it('refuses malformed UTF-8 instead of replacing it, naming what was read', () => {
    expect(Buffer.from(MALFORMED).toString('utf8')).toBe('{"a": "\ufffd"}'); // what a lenient reader sees
    expect(() => parseJsonBytes(MALFORMED, 'settings.json')).toThrow(/^settings\.json is not UTF-8 text$/);
  });

  it('throws the error class the caller names, with the parser error as cause', () => {
    const error = (() => {
      try {
        parseJsonBytes(utf8('{"a": '), 'the config', StorageError);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(StorageError);
    expect(error!.message).toMatch(/^the config is not valid JSON: /);
    expect(error!.cause).toBeInstanceOf(SyntaxError);
    expect(() => decodeUtf8Strict(MALFORMED, 'notes', ValueError)).toThrow(ValueError);
  });
});

describe('a publisher file read through it', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'etuf-json-bytes-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('electron-tuf.json with malformed UTF-8 is refused, not read with U+FFFD', async () => {
    const paths = repositoryPaths(dir);
    await writeFile(paths.config, MALFORMED);
    await expect(readConfig(paths)).rejects.toThrow(StorageError);
    await expect(readConfig(paths)).rejects.toThrow(/not UTF-8/);
  });
});
