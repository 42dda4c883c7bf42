/**
 * A TUF metadata file as JSON.parse gives it, typed for the fields tests read or tamper with.
 * A read model, not a validator: a field the file's role lacks reads as undefined and the
 * assertion on it fails. Parsing and checking metadata for real is updater/core's job.
 */
export interface MetaInfo {
  version: number;
  length?: number;
  hashes?: Record<string, string>;
}

export interface SignedDoc {
  _type: string;
  version: number;
  expires: string;
  spec_version: string;
  keys: Record<string, { keytype: string; scheme: string; keyval: { public: string } }>;
  roles: Record<string, { keyids: string[]; threshold: number }>;
  meta: Record<string, MetaInfo>;
  targets: Record<string, { length: number; hashes: Record<string, string>; custom?: unknown }>;
  [field: string]: unknown;
}

export interface MetadataDoc {
  signed: SignedDoc;
  signatures: { keyid: string; sig: string }[];
}

/** Parses a metadata file's bytes or text as a MetadataDoc (no checks). */
export function parseDoc(data: string | Uint8Array): MetadataDoc {
  return JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8')) as MetadataDoc;
}
