/**
 * The service bench on S3 storage (Ceph's radosgw, scripts/s3-dev.sh): a fresh bucket, and the
 * scale section's repositories filled through the publisher library on the bucket, plus one
 * object per target (as their installers would be), so the bucket holds N objects more.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { addTargets, eachConcurrently } from 'electron-tuf/publisher';
import { tempDir } from '../../test/publisher/helpers.js';
import { openPostgres } from '../src/db.js';
import { probeConditionalWrites } from '../src/storage/probe.js';
import { S3Repositories } from '../src/storage/s3-repositories.js';
import { s3Fixture } from '../test/s3-helpers.js';
import { gatewayPids } from './gateway-cost.js';
import type { BenchStorage, FillerTarget } from './publish.js';

/**
 * Objects put per scale repository, at most: radosgw on a shared 2-core machine takes 30-90 PUTs/s,
 * so 100,000 would take most of an hour. The metadata still lists every target.
 */
export async function s3BenchStorage(maxObjects = Number.POSITIVE_INFINITY): Promise<BenchStorage> {
  const fx = await s3Fixture();
  return {
    label: 's3',
    env: { ...fx.env, ELECTRON_TUF_STORAGE: fx.storage },
    processes: gatewayPids,
    async fill(name: string, keys: string, targets: FillerTarget[], databaseUrl: string): Promise<string> {
      const db = await openPostgres(databaseUrl);
      const bucket = fx.serviceBucket();
      try {
        await probeConditionalWrites(bucket);
        const repositories = new S3Repositories(bucket, db, await tempDir('etuf-bench-s3-'));
        await addTargets({ ...(await repositories.target(name)), keys, env: {}, targets });
        const started = Date.now();
        const objects = targets.slice(0, maxObjects);
        await eachConcurrently(objects, 32, async (t) => {
          const key = bucket.key('repositories', name, 'targets', 'filler', `${t.hashes.sha256}.${t.path.slice(7)}`);
          await fx.client.send(new PutObjectCommand({ Bucket: fx.bucket, Key: key, Body: 'x' }));
        });
        return `${objects.length} more objects in the bucket (${Math.round((Date.now() - started) / 1000)} s to put); `;
      } finally {
        await db.close();
        bucket.client.destroy();
      }
    },
  };
}
