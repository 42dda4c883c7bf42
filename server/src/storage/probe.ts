/**
 * The start-up probe: the service's consistency rests on the store's conditional writes, so it
 * refuses to run where they do not work. A canary object under `<prefix>/.probe/` is created
 * twice with `If-None-Match: *` (the second must be refused), then replaced with `If-Match` on a
 * wrong ETag (must be refused) and on its real ETag, quoted as S3 sends it and, if the store
 * refuses that, unquoted (Ceph's gateway 16.2 matches only the unquoted form): the form that
 * works is the one the service uses.
 *
 * It then learns how to fence a copy inside the store (the worker copies checked uploads into
 * the targets, see s3-storage.ts): a copy of the canary on a wrong ETag must be refused and on
 * its own ETag go through, with the standard `x-amz-copy-source-if-match` or else Ceph 16.2's
 * `x-amz-copy-if-match` (Ceph ignores the standard header and copies anyway, measured). Where
 * neither holds, the service does not copy (it uploads the checked bytes itself).
 */
import { randomBytes } from 'node:crypto';
import { ObjectStoreError } from '../errors.js';
import type { Bucket, CopyFence, EtagForm } from './bucket.js';

/** What the store answered: true where a write went through. */
export interface ProbeObservations {
  firstCreate: boolean;
  secondCreate: boolean;
  wrongEtagReplace: boolean;
  quotedReplace: boolean;
  /** Asked only when the quoted form was refused. */
  unquotedReplace?: boolean;
}

/** The ETag form to use, or the one clear reason to refuse the store. */
export function decideProbe(o: ProbeObservations): { form: EtagForm } | { refuse: string } {
  const prefix = 'the object store does not honour conditional writes, which electron-tuf needs to publish safely';
  if (!o.firstCreate) return { refuse: `${prefix}: creating a new canary object with If-None-Match: * was refused` };
  if (o.secondCreate)
    return { refuse: `${prefix}: If-None-Match: * did not stop a second write of an existing object` };
  if (o.wrongEtagReplace) return { refuse: `${prefix}: If-Match with a wrong ETag did not stop a write` };
  if (o.quotedReplace) return { form: 'quoted' };
  if (o.unquotedReplace) return { form: 'unquoted' };
  return { refuse: `${prefix}: If-Match with the object's own ETag (quoted or not) was refused` };
}

/** Runs the probe on `bucket`, sets its ETag form, and throws ObjectStoreError where the store cannot serve. */
export async function probeConditionalWrites(bucket: Bucket): Promise<EtagForm> {
  const key = bucket.key('.probe', `${Date.now()}-${randomBytes(8).toString('hex')}`);
  const canary = (text: string): Uint8Array => Buffer.from(`electron-tuf conditional write probe: ${text}\n`);
  try {
    const o: ProbeObservations = {
      firstCreate: (await bucket.create(key, canary('first'))) === 'created',
      secondCreate: false,
      wrongEtagReplace: false,
      quotedReplace: false,
    };
    if (o.firstCreate) {
      o.secondCreate = (await bucket.create(key, canary('second'))) === 'created';
      const etag = (await bucket.head(key))?.etag ?? '';
      bucket.etagForm = 'quoted';
      o.wrongEtagReplace = await bucket.replace(key, canary('wrong'), '"00000000000000000000000000000000"');
      o.quotedReplace = !o.wrongEtagReplace && (await bucket.replace(key, canary('quoted'), etag));
      if (!o.wrongEtagReplace && !o.quotedReplace) {
        bucket.etagForm = 'unquoted';
        o.unquotedReplace = await bucket.replace(key, canary('unquoted'), etag);
      }
    }
    const decision = decideProbe(o);
    if ('refuse' in decision) throw new ObjectStoreError(`${decision.refuse} (${bucket.url(key)}); refusing to start`);
    bucket.etagForm = decision.form;
    bucket.copyFence = await probeCopyFence(bucket, key);
    return decision.form;
  } finally {
    await bucket.remove(key);
  }
}

const COPY_FENCES: CopyFence[] = ['standard', 'ceph'];

/** The first copy condition the store honours on the canary at `key` (refuses a wrong ETag, takes the right one), or 'none'. */
async function probeCopyFence(bucket: Bucket, key: string): Promise<CopyFence> {
  const etag = (await bucket.head(key))?.etag ?? '';
  const copy = `${key}.copy`;
  try {
    for (const fence of COPY_FENCES) {
      bucket.copyFence = fence;
      try {
        if ((await bucket.copy(key, copy, '00000000000000000000000000000000')) === 'copied') {
          await bucket.remove(copy);
          continue;
        }
        if ((await bucket.copy(key, copy, etag)) === 'copied') return fence;
      } catch (e) {
        // A store that rejects the header outright (not with 412) does not offer this fence.
        if (!(e instanceof ObjectStoreError)) throw e;
      }
    }
    return 'none';
  } finally {
    bucket.copyFence = 'none';
    await bucket.remove(copy);
  }
}
