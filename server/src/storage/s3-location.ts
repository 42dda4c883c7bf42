/**
 * Where the service keeps repositories on an S3-compatible store: `s3://bucket/prefix`, with the
 * endpoint, region and credentials from the usual AWS variables (AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; the SDK's default
 * chain finds the credentials).
 *
 *   <prefix>/repositories/<name>/metadata/...   served (public read, or through a CDN)
 *   <prefix>/repositories/<name>/targets/...    served
 *   <prefix>/uploads/<name>/<sha256>            installers uploaded by CI; never served
 *   <prefix>/.probe/...                         the start-up canary
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ValueError } from 'electron-tuf/core';

export interface S3Location {
  bucket: string;
  /** '' or a prefix without leading or trailing '/'. */
  prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Parses `s3://bucket[/prefix]`; the prefix's segments are plain names (no '..', no empty segment). */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) throw new ValueError(`storage must be s3://bucket/prefix, got ${JSON.stringify(url)}`);
  const [, bucket, rest = ''] = m;
  if (!BUCKET.test(bucket)) throw new ValueError(`invalid bucket name ${JSON.stringify(bucket)}`);
  const prefix = rest.replace(/\/+$/, '');
  if (prefix !== '' && !prefix.split('/').every((s) => PREFIX_SEGMENT.test(s)))
    throw new ValueError(`invalid prefix ${JSON.stringify(prefix)}: plain names separated by '/'`);
  return { bucket, prefix };
}

/** A client for the configured endpoint: path-style addressing when an endpoint is given (radosgw, MinIO). */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return new S3Client({
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: endpoint !== undefined,
    // Checksums only where the API requires them: presigned PUTs must not demand one from CI.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            sessionToken: env.AWS_SESSION_TOKEN || undefined,
          }
        : undefined,
  });
}
