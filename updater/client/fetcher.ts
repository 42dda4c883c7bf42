/**
 * The network edge of the client. A Fetcher turns a URL into a byte stream; it knows nothing
 * of TUF. Everything security-relevant (length bounds, hashes, read timeouts) is enforced by
 * the caller in download.ts, so an app-supplied fetcher (e.g. one built on Electron's
 * `net.fetch`) cannot weaken it.
 */
export interface FetchRequest {
  /** Ask for the body from this byte offset on (HTTP Range). The response says where it starts. */
  offset?: number;
  /**
   * Ask for the body only up to this byte offset (exclusive): HTTP Range `bytes=offset-(end-1)`.
   * A fetcher may ignore it (and send up to the end of the resource): the caller cuts the body.
   */
  end?: number;
  /**
   * The caller will refuse a resource longer than this (counted from byte 0, not from `offset`);
   * a fetcher may fail early with DownloadLengthMismatchError when the response head announces more.
   */
  maxLength?: number;
  /** Aborts the request and the body stream: pending work rejects or throws CancelledError. */
  signal?: AbortSignal;
}

/**
 * A fetcher sets `body[OWNED_CHUNKS] = true` on a body whose chunks it hands over: each one a
 * buffer it never writes to again (no pooling, no reuse). The client then hashes and writes
 * target chunks as they are; for any other body it copies each chunk first, so that what it
 * verified is what it wrote. A wrapper that replaces the body drops the mark with it.
 * HttpFetcher's bodies are marked.
 */
export const OWNED_CHUNKS: unique symbol = Symbol('electron-tuf.ownedChunks');

export interface FetchResponse {
  /** Byte offset of the first body byte: `offset` if the server honoured the range, else 0. */
  start: number;
  /** Total size of the resource if the server said so (Content-Length / Content-Range). */
  totalLength?: number;
  /**
   * The body, single use. Iterating it may throw DownloadError subclasses; leaving the loop
   * early (`return()`) must release the connection. The caller bounds length and read time.
   */
  body: AsyncIterable<Uint8Array> & { readonly [OWNED_CHUNKS]?: boolean };
}

export interface Fetcher {
  /**
   * Starts a GET. Rejects with DownloadHTTPError for a non-success status, SlowRetrievalError
   * when the connection cannot be made in time, DownloadError for other network failures.
   */
  fetch(url: string, request?: FetchRequest): Promise<FetchResponse>;
}

/** `bytes=offset-` to resume, `bytes=offset-last` for a ranged read; none for the whole resource. */
export function rangeHeader(offset: number, end: number | undefined): string | undefined {
  if (end !== undefined) return `bytes=${offset}-${end - 1}`;
  return offset > 0 ? `bytes=${offset}-` : undefined;
}
