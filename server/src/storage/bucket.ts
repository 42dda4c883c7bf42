/**
 * The few object-store operations the service needs, on one bucket under one prefix, each key
 * checked to stay under that prefix: every part is plain `/`-separated segments (no empty, `.`
 * or `..` segment, no leading `/`, no backslash, no control character). Reads are by exact key
 * and bounded; creates are conditional (`If-None-Match: *`); replaces are compare-and-swap
 * (`If-Match`) in the ETag form the store matches (probe.ts learns it).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ValueError } from 'electron-tuf/core';
import { ObjectStoreError } from '../errors.js';
import type { S3Location } from './s3-location.js';

/** How the store wants the ETag in If-Match: as it sends it (quoted, the standard) or without quotes (Ceph 16.2). */
export type EtagForm = 'quoted' | 'unquoted';

/**
 * Which header makes the store refuse a copy whose source changed: the standard
 * `x-amz-copy-source-if-match`, Ceph 16.2's own `x-amz-copy-if-match` (it ignores the standard
 * one, measured), or none that works (then nothing is copied inside the store: see `copy`).
 */
export type CopyFence = 'standard' | 'ceph' | 'none';

/** Ceph 16.2's name for the copy's source condition (rgw_rest_s3.cc reads HTTP_X_AMZ_COPY_IF_MATCH). */
const CEPH_COPY_IF_MATCH = 'x-amz-copy-if-match';

const MAX_KEY_BYTES = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Refuses a key part that could leave its place under the prefix. */
export function checkKeyPart(part: string): string {
  const shown = JSON.stringify(part.length > 80 ? `${part.slice(0, 80)}...` : part);
  if (typeof part !== 'string' || part.length === 0 || Buffer.byteLength(part) > MAX_KEY_BYTES)
    throw new ValueError(`object key part ${shown} is empty or too long`);
  if (part.startsWith('/') || part.includes('\\') || CONTROL.test(part))
    throw new ValueError(`object key part ${shown} has a leading '/', a backslash or a control character`);
  for (const segment of part.split('/'))
    if (segment === '' || segment === '.' || segment === '..')
      throw new ValueError(`object key part ${shown} has an empty, '.' or '..' segment`);
  return part;
}

/** The HTTP status of an SDK error, if it has one. */
export function statusOf(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isAbsent(e: unknown): boolean {
  const name = (e as { name?: string } | undefined)?.name;
  return statusOf(e) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

/** 412 Precondition Failed; 409 is how AWS answers a conditional write racing another one. */
function isPreconditionFailed(e: unknown): boolean {
  const status = statusOf(e);
  return status === 412 || status === 409;
}

function storeError(action: string, key: string, e: unknown): ObjectStoreError {
  const status = statusOf(e);
  return new ObjectStoreError(
    `object store: ${action} ${key} failed${status ? ` (HTTP ${status})` : ''}: ${(e as Error).message}`,
    { cause: e },
  );
}

export type Body = Uint8Array | { file: string; length: number };

export class Bucket {
  /** Learnt by the start-up probe; until then the standard (quoted) form. */
  etagForm: EtagForm = 'quoted';
  /** Learnt by the start-up probe; until then none (no copies inside the store). */
  copyFence: CopyFence = 'none';

  constructor(
    readonly client: S3Client,
    readonly location: S3Location,
  ) {}

  get name(): string {
    return this.location.bucket;
  }

  /** The full key of `parts` under the prefix, each part checked. */
  key(...parts: string[]): string {
    const checked = parts.map(checkKeyPart);
    return [this.location.prefix, ...checked].filter((p) => p !== '').join('/');
  }

  /** `s3://bucket/key`, for messages. */
  url(key: string): string {
    return `s3://${this.location.bucket}/${key}`;
  }

  /** The key of an `s3://` URL of this bucket under this prefix (each part checked), or undefined. */
  keyOfUrl(url: string): string | undefined {
    const base = this.url(this.location.prefix === '' ? '' : `${this.location.prefix}/`);
    if (!url.startsWith(base) || url.length === base.length) return undefined;
    return this.key(url.slice(base.length));
  }

  /** The object's bytes and ETag, or undefined when absent; an object over `maxBytes` is an error. */
  async get(key: string, maxBytes: number): Promise<{ bytes: Buffer; etag: string } | undefined> {
    const chunks: Buffer[] = [];
    let etag = '';
    try {
      const found = await this.read(
        key,
        maxBytes,
        (c) => void chunks.push(c),
        (e) => (etag = e),
      );
      return found ? { bytes: Buffer.concat(chunks), etag } : undefined;
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      throw new ObjectStoreError(`${this.url(key)} is larger than ${maxBytes} bytes`, { cause: e });
    }
  }

  /** Whether the object holds exactly `bytes` (undefined when absent): length first, then the bytes. */
  async holds(key: string, bytes: Uint8Array): Promise<boolean | undefined> {
    const head = await this.head(key);
    if (!head) return undefined;
    if (head.length !== bytes.length) return false;
    const found = await this.get(key, bytes.length);
    return found === undefined ? undefined : Buffer.compare(found.bytes, bytes) === 0;
  }

  /** The object's length and ETag, or undefined when absent. */
  async head(key: string): Promise<{ length: number; etag: string } | undefined> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return { length: h.ContentLength ?? 0, etag: h.ETag ?? '' };
    } catch (e) {
      if (isAbsent(e)) return undefined;
      throw storeError('inspecting', key, e);
    }
  }

  /**
   * Streams the object to `sink`; false when absent; ValueError past `maxBytes` (checked as it
   * comes). `onEtag` gets the ETag of the object whose bytes are streamed, before the first byte.
   */
  async stream(
    key: string,
    maxBytes: number,
    sink: (chunk: Buffer) => void | Promise<void>,
    onEtag?: (etag: string) => void,
  ): Promise<boolean> {
    return this.read(key, maxBytes, sink, onEtag);
  }

  private async read(
    key: string,
    maxBytes: number,
    sink: (chunk: Buffer) => void | Promise<void>,
    onEtag?: (etag: string) => void,
  ): Promise<boolean> {
    let answer;
    try {
      answer = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
    } catch (e) {
      if (isAbsent(e)) return false;
      throw storeError('reading', key, e);
    }
    onEtag?.(answer.ETag ?? '');
    const body = answer.Body as Readable | undefined;
    const tooLong = (): ValueError => new ValueError(`${this.url(key)} holds more than ${maxBytes} bytes`);
    let total = answer.ContentLength ?? 0;
    let inSink = false;
    try {
      if (total > maxBytes) throw tooLong();
      total = 0;
      for await (const chunk of body ?? []) {
        total += (chunk as Buffer).length;
        if (total > maxBytes) throw tooLong();
        inSink = true;
        await sink(chunk as Buffer);
        inSink = false;
      }
    } catch (e) {
      // The sink's own failures (a full disk) are not the store's: they go up as they are.
      if (inSink || e instanceof ValueError || e instanceof ObjectStoreError) throw e;
      throw storeError('reading', key, e);
    } finally {
      body?.destroy();
    }
    return true;
  }

  /** The object's SHA-256 or SHA-512 (streamed), or undefined when absent or longer than `maxBytes`. */
  async digestOf(key: string, algorithm: 'sha256' | 'sha512', maxBytes: number): Promise<string | undefined> {
    const hash = createHash(algorithm);
    try {
      if (!(await this.stream(key, maxBytes, (c) => void hash.update(c)))) return undefined;
    } catch (e) {
      if (e instanceof ValueError) return undefined;
      throw e;
    }
    return hash.digest('hex');
  }

  /** Creates the object unless one exists (`If-None-Match: *`): 'created', or 'exists' (left untouched). */
  async create(key: string, body: Body): Promise<'created' | 'exists'> {
    try {
      await this.put(key, body, { IfNoneMatch: '*' });
      return 'created';
    } catch (e) {
      if (isPreconditionFailed(e)) return 'exists';
      throw storeError('creating', key, e);
    }
  }

  /** Replaces the object only if its ETag is still `etag` (compare-and-swap): false when it is not. */
  async replace(key: string, body: Body, etag: string): Promise<boolean> {
    try {
      await this.put(key, body, { IfMatch: this.formOf(etag) });
      return true;
    } catch (e) {
      if (isPreconditionFailed(e)) return false;
      throw storeError('replacing', key, e);
    }
  }

  /**
   * Copies `source` to `key` inside the bucket, only while `source` still has `etag` (the
   * store checks it, with the header the probe found it honours): 'copied', or 'changed' when
   * the source is gone or has another ETag (nothing was copied). Unlike `create`, the
   * destination is not conditional (Ceph 16.2 ignores If-None-Match on a copy, measured): the
   * caller looks first. Refused where the store honours no copy condition.
   */
  async copy(source: string, key: string, etag: string): Promise<'copied' | 'changed'> {
    if (this.copyFence === 'none')
      throw new ObjectStoreError(
        `object store: copying to ${key}: this store does not honour a copy's source condition`,
      );
    const condition = this.formOf(etag);
    const command = new CopyObjectCommand({
      Bucket: this.name,
      Key: key,
      CopySource: `${this.name}/${source.split('/').map(encodeURIComponent).join('/')}`,
      ...(this.copyFence === 'standard' ? { CopySourceIfMatch: condition } : {}),
    });
    if (this.copyFence === 'ceph')
      command.middlewareStack.add(
        (next) => (args) => {
          (args.request as { headers: Record<string, string> }).headers[CEPH_COPY_IF_MATCH] = condition;
          return next(args);
        },
        { step: 'build', name: 'cephCopyIfMatch' },
      );
    try {
      await this.client.send(command);
      return 'copied';
    } catch (e) {
      if (isPreconditionFailed(e) || isAbsent(e)) return 'changed';
      throw storeError(`copying ${source} to`, key, e);
    }
  }

  formOf(etag: string): string {
    const bare = etag.replace(/^"(.*)"$/, '$1');
    return this.etagForm === 'unquoted' ? bare : `"${bare}"`;
  }

  /** Deletes the object; an absent one is fine. */
  async remove(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.name, Key: key }));
    } catch (e) {
      if (!isAbsent(e)) throw storeError('deleting', key, e);
    }
  }

  private async put(key: string, body: Body, condition: { IfNoneMatch?: string; IfMatch?: string }): Promise<void> {
    const isBytes = body instanceof Uint8Array;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.name,
        Key: key,
        Body: isBytes ? body : createReadStream(body.file),
        ContentLength: isBytes ? body.length : body.length,
        ContentType: key.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        ...condition,
      }),
    );
  }
}
