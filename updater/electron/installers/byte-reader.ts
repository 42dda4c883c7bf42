/** Exact-length reads over a stream of chunks (the gunzipped tar), for tar-extract.ts. */
import { DeserializationError } from '../../core/errors.js';

/** Exact-length reads over a stream of chunks, without copying more than needed. */
export class ByteReader {
  private head: Buffer | undefined;

  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  /** Up to `max` bytes (at least one), or undefined at the end of the stream. */
  async pull(max: number): Promise<Buffer | undefined> {
    while (!this.head || this.head.length === 0) {
      const step = await this.chunks.next();
      if (step.done) return undefined;
      this.head = step.value;
    }
    const out = this.head.subarray(0, max);
    this.head = this.head.subarray(out.length);
    return out;
  }

  /** Exactly `n` bytes; undefined at a clean end of stream, DeserializationError when cut short. */
  async read(n: number): Promise<Buffer | undefined> {
    if (n === 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (let got = 0; got < n;) {
      const chunk = await this.pull(n - got);
      if (!chunk) {
        if (got === 0) return undefined;
        throw new DeserializationError('tar archive is truncated');
      }
      parts.push(chunk);
      got += chunk.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  async skip(n: number): Promise<void> {
    for (let left = n; left > 0;) {
      const chunk = await this.pull(left);
      if (!chunk) throw new DeserializationError('tar archive is truncated');
      left -= chunk.length;
    }
  }
}
