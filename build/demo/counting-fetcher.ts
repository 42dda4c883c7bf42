/**
 * A Fetcher that counts what goes over the wire: requests (failed ones too, e.g. the 404 of
 * the next-root probe) and body bytes as the client reads them. The demo shows the figures; the
 * app-check benchmark reports them. It only passes bytes through: lengths, hashes and timeouts
 * stay with the client.
 */
import type { FetchRequest, FetchResponse, Fetcher } from '../../updater/client/fetcher.js';
import { HttpFetcher } from '../../updater/client/http-fetcher.js';

export interface FetchRecord {
  url: string;
  /** Body bytes read; 0 for a failed request. */
  bytes: number;
  ok: boolean;
}

export class CountingFetcher implements Fetcher {
  readonly records: FetchRecord[] = [];

  constructor(private readonly inner: Fetcher = new HttpFetcher()) {}

  get requests(): number {
    return this.records.length;
  }

  get bytes(): number {
    return this.records.reduce((sum, record) => sum + record.bytes, 0);
  }

  /** Forgets what was counted so far (to count one step alone). */
  reset(): void {
    this.records.length = 0;
  }

  async fetch(url: string, request?: FetchRequest): Promise<FetchResponse> {
    const record: FetchRecord = { url, bytes: 0, ok: false };
    this.records.push(record);
    const response = await this.inner.fetch(url, request);
    record.ok = true;
    return { ...response, body: counted(response.body, record) };
  }
}

/** Passes the body through; leaving early returns the inner iterator, releasing the connection. */
async function* counted(body: AsyncIterable<Uint8Array>, record: FetchRecord): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    record.bytes += chunk.length;
    yield chunk;
  }
}
