/**
 * Errors of the service, in the one electron-tuf hierarchy (they extend TufError): each carries
 * the HTTP status the API answers with. Input errors of the publisher (ValueError) map to 400.
 */
import { TufError } from 'electron-tuf/core';

export class ServiceError extends TufError {
  override name = 'ServiceError';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** No token, or one that is unknown, expired or revoked (401). */
export class AuthenticationError extends ServiceError {
  override name = 'AuthenticationError';
  constructor(message: string) {
    super(message, 401);
  }
}

/** A valid token whose scope does not cover the request (403). */
export class ForbiddenError extends ServiceError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(message, 403);
  }
}

export class NotFoundError extends ServiceError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(message, 404);
  }
}

/** The request conflicts with the current state (a repository that exists already). */
export class ConflictError extends ServiceError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(message, 409);
  }
}

/** Bad input the schemas cannot express (an upload whose bytes do not match its digest). */
export class BadRequestError extends ServiceError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super(message, 400);
  }
}

/** The object store failed, refused a request, or cannot give the guarantees the service needs (500). */
export class ObjectStoreError extends ServiceError {
  override name = 'ObjectStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 500, options);
  }
}

/**
 * Another publisher committed first: timestamp.json is no longer the one this publish loaded
 * (its compare-and-swap failed), or a versioned file it meant to create exists with other bytes.
 * Nothing this publish wrote is named by any timestamp; the caller rebuilds from the database.
 */
export class PublishConflictError extends ObjectStoreError {
  override name = 'PublishConflictError';
}

/**
 * A checked upload changed before it was copied into the targets: the store refused the copy
 * on the ETag its bytes were hashed with (or the upload is gone). Nothing was copied; the change
 * that named it fails, and the publish goes on without it (publish.ts).
 */
export class UploadChangedError extends ObjectStoreError {
  override name = 'UploadChangedError';
  constructor(
    message: string,
    /** The upload's `s3://` URL (IncomingFile.origin.url). */
    readonly origin: string,
  ) {
    super(message);
  }
}
