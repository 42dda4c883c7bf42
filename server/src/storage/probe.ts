/**
 * The start-up probe: the service's consistency rests on the store's conditional writes, so it
 * refuses to run where they do not work. A canary object under `<prefix>/.probe/` is created
 * twice with `If-None-Match: *` (the second must be refused), then replaced with `If-Match` on a
 * wrong ETag (must be refused) and on its real ETag, quoted as S3 sends it and, if the store
 * refuses that, unquoted (Ceph's gateway 16.2 matches only the unquoted form): the form that
 * works is the one the service uses.
 */
import { randomBytes } from 'node:crypto';
import { ObjectStoreError } from '../errors.js';
import type { Bucket, EtagForm } from './bucket.js';

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
    return decision.form;
  } finally {
    await bucket.remove(key);
  }
}
