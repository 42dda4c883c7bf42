/**
 * Node file I/O shared by the client, the app updater and the publisher: atomic writes,
 * bounded reads, the inter-process file lock and strict JSON from bytes. updater/core stays
 * free of I/O; everything here may touch the disk.
 */
export { writeFileAtomic, tempPathBeside, fsyncDirectory, type WriteFileAtomicOptions } from './atomic-write.js';
export { readFileBounded } from './bounded-read.js';
export { errorCode, describeError, isSystemFailure } from './error-code.js';
export { acquireLock, withLock, type LockOptions, type ReleaseLock } from './file-lock.js';
export { decodeUtf8Strict, parseJsonBytes, type ParseErrorClass } from './json-bytes.js';
