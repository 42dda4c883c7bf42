/**
 * The one error hierarchy of electron-tuf. Every error the library throws on purpose is a
 * `TufError`; callers branch on the class (`instanceof`) or on `name`, which survives
 * structured cloning across Electron's IPC.
 *
 *   TufError
 *   ├── RepositoryError              the repository served something we must not trust
 *   │   ├── UnsignedMetadataError    signature threshold not met
 *   │   ├── BadVersionNumberError    rollback, or a version that does not match its name
 *   │   │   └── EqualVersionNumberError
 *   │   ├── ExpiredMetadataError     freeze attack, or a repository nobody refreshed
 *   │   ├── LengthOrHashMismatchError
 *   │   └── DeserializationError     not JSON, wrong types, out-of-range values
 *   ├── DownloadError                the network failed us
 *   │   ├── DownloadLengthMismatchError  more (endless data) or fewer bytes than promised
 *   │   ├── DownloadHTTPError        non-success status (`status`)
 *   │   ├── RangeNotHonouredError    a ranged request answered from another offset
 *   │   └── SlowRetrievalError       connect or read timeout
 *   ├── ValueError                   the caller passed something unusable (bad target path, config)
 *   │   └── UnknownReleaseError      the publisher was asked to yank or stage a release it does not hold
 *   ├── OrderError                   an API used out of order (e.g. snapshot before timestamp): a bug
 *   ├── StorageError                 local disk or lock trouble
 *   ├── CancelledError               the caller cancelled a long operation (a download, a lock wait)
 *   │   └── CancellationError        an app update download cancelled (electron-updater's name)
 *   └── InstallError                 an installer step failed (the running app was left as it was);
 *                                    app-level, so defined in updater/electron/errors.ts
 */
export class TufError extends Error {
  override name = 'TufError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class RepositoryError extends TufError {
  override name = 'RepositoryError';
}

export class UnsignedMetadataError extends RepositoryError {
  override name = 'UnsignedMetadataError';
}

export class BadVersionNumberError extends RepositoryError {
  override name = 'BadVersionNumberError';
}

export class EqualVersionNumberError extends BadVersionNumberError {
  override name = 'EqualVersionNumberError';
}

export class ExpiredMetadataError extends RepositoryError {
  override name = 'ExpiredMetadataError';
}

export class LengthOrHashMismatchError extends RepositoryError {
  override name = 'LengthOrHashMismatchError';
}

export class DeserializationError extends RepositoryError {
  override name = 'DeserializationError';
}

export class DownloadError extends TufError {
  override name = 'DownloadError';
}

export class DownloadLengthMismatchError extends DownloadError {
  override name = 'DownloadLengthMismatchError';
}

export class DownloadHTTPError extends DownloadError {
  override name = 'DownloadHTTPError';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A ranged request was answered from another offset (the server ignores Range). */
export class RangeNotHonouredError extends DownloadError {
  override name = 'RangeNotHonouredError';
}

export class SlowRetrievalError extends DownloadError {
  override name = 'SlowRetrievalError';
}

export class ValueError extends TufError {
  override name = 'ValueError';
}

/**
 * A yank or staging change names a release the repository does not hold (`version`, and the
 * channel when one was given). Callers that must treat "already gone" as done (the service's
 * idempotent yank) branch on this class, not on the message.
 */
export class UnknownReleaseError extends ValueError {
  override name = 'UnknownReleaseError';
  constructor(
    readonly version: string,
    readonly channel: string | undefined,
  ) {
    super(`no release ${version}${channel ? ` in channel ${channel}` : ''} in this repository`);
  }
}

export class OrderError extends TufError {
  override name = 'OrderError';
}

export class StorageError extends TufError {
  override name = 'StorageError';
}

export class CancelledError extends TufError {
  override name = 'CancelledError';
}

/** electron-updater's CancellationError (`new CancellationError()`): a cancelled update download. */
export class CancellationError extends CancelledError {
  override name = 'CancellationError';
  constructor(message = 'cancelled', options?: { cause?: unknown }) {
    super(message, options);
  }
}
