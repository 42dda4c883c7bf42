import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CHANNEL_INDEX_FORMAT,
  type ChannelIndex,
  type ChannelRelease,
  type InstallerKind,
} from '../../updater/release/index.js';
import { channelsToRead, selectRelease, type ReleasePolicy } from '../../updater/electron/discovery.js';
import { isStaged, stagingBucket } from '../../updater/electron/rollout.js';

function release(version: string, extra: Partial<ChannelRelease> = {}, kind: InstallerKind = 'tar.gz'): ChannelRelease {
  return {
    version,
    releaseDate: '2025-01-01T00:00:00Z',
    installers: [{ target: `${version}/app.${kind}`, kind }],
    ...extra,
  };
}

function index(channel: string, releases: ChannelRelease[]): ChannelIndex {
  return { format: CHANNEL_INDEX_FORMAT, channel, platform: 'linux', arch: 'x64', releases };
}

function policy(extra: Partial<ReleasePolicy> = {}): ReleasePolicy {
  return {
    currentVersion: '1.0.0',
    channel: 'stable',
    allowPrerelease: false,
    allowDowngrade: false,
    installerKind: 'tar.gz',
    isStaged: () => true,
    ...extra,
  };
}

describe('channelsToRead', () => {
  it('reads the channel and every more stable one, own channel first', () => {
    expect(channelsToRead('stable')).toEqual(['stable']);
    expect(channelsToRead('beta')).toEqual(['beta', 'stable']);
    expect(channelsToRead('alpha')).toEqual(['alpha', 'beta', 'stable']);
    expect(channelsToRead('nightly')).toEqual(['nightly', 'stable']);
  });

  it('refuses names that are not channel names', () => {
    expect(() => channelsToRead('../x')).toThrow();
  });
});

describe('selectRelease', () => {
  it('offers the newest newer release by semver, whatever the index order', () => {
    const s = selectRelease([index('stable', [release('1.2.0'), release('1.10.0'), release('1.9.9')])], policy());
    expect(s.offer?.release.version).toBe('1.10.0');
  });

  it('offers nothing when the newest is the running version', () => {
    const s = selectRelease([index('stable', [release('1.0.0'), release('0.9.0')])], policy());
    expect(s.offer).toBeUndefined();
    expect(s.newest?.release.version).toBe('1.0.0');
  });

  it('passes over releases without an installer of this install kind', () => {
    const s = selectRelease([index('stable', [release('1.2.0', {}, 'AppImage'), release('1.1.0')])], policy());
    expect(s.offer?.release.version).toBe('1.1.0');
    expect(s.skipped.join()).toMatch(/1\.2\.0: no tar\.gz installer/);
  });

  it('offers prereleases only when allowed or on a prerelease channel', () => {
    const indexes = [index('stable', [release('1.1.0-rc.1')])];
    expect(selectRelease(indexes, policy()).offer).toBeUndefined();
    expect(selectRelease(indexes, policy({ allowPrerelease: true })).offer?.release.version).toBe('1.1.0-rc.1');
    expect(selectRelease(indexes, policy({ channel: 'beta' })).offer?.release.version).toBe('1.1.0-rc.1');
  });

  it('refuses a lower version unless downgrades are allowed', () => {
    const indexes = [index('stable', [release('0.9.0')])];
    expect(selectRelease(indexes, policy()).offer).toBeUndefined();
    expect(selectRelease(indexes, policy({ allowDowngrade: true })).offer?.release.version).toBe('0.9.0');
  });

  it('a version listed by two channels counts once, from the own channel', () => {
    const s = selectRelease(
      [index('beta', [release('1.1.0')]), index('stable', [release('1.1.0')])],
      policy({ channel: 'beta' }),
    );
    expect(s.offer?.channel).toBe('beta');
  });

  it('an unstaged release gives way to the next older one that is still newer', () => {
    const staged = (r: ChannelRelease): boolean => r.version !== '1.3.0';
    const s = selectRelease(
      [index('stable', [release('1.3.0'), release('1.2.0'), release('1.1.0')])],
      policy({ isStaged: staged }),
    );
    expect(s.offer?.release.version).toBe('1.2.0');
    expect(s.skipped.join()).toMatch(/1\.3\.0: this install is not in its/);
  });

  it('never offers an unstaged release, whatever the versions (property)', () => {
    const version = fc.tuple(fc.nat(5), fc.nat(5), fc.nat(5)).map(([a, b, c]) => `${a}.${b}.${c}`);
    fc.assert(
      fc.property(
        fc.array(version, { maxLength: 8 }),
        version,
        fc.boolean(),
        fc.func(fc.boolean()),
        (versions, current, downgrade, stagedFn) => {
          const rels = [...new Set(versions)].map((v) => release(v));
          const isStagedRelease = (r: ChannelRelease): boolean => stagedFn(r.version);
          const s = selectRelease(
            [index('stable', rels)],
            policy({ currentVersion: current, allowDowngrade: downgrade, isStaged: isStagedRelease }),
          );
          if (s.offer) {
            expect(isStagedRelease(s.offer.release)).toBe(true);
            expect(s.offer.release.version).not.toBe(current);
          }
        },
      ),
    );
  });
});

describe('staging buckets', () => {
  it('are stable for an install and release, and spread evenly over installs', () => {
    expect(stagingBucket('a', '1.0.0')).toBe(stagingBucket('a', '1.0.0'));
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 10_000; i++) counts[Math.floor(stagingBucket(`install-${i}`, '2.0.0') / 10)]++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });

  it('0 % takes nobody, 100 % and no percentage take everybody, 30 % about a third', () => {
    let in30 = 0;
    for (let i = 0; i < 2000; i++) {
      const id = `id-${i}`;
      expect(isStaged(id, '1.0.0', 0)).toBe(false);
      expect(isStaged(id, '1.0.0', 100)).toBe(true);
      expect(isStaged(id, '1.0.0', undefined)).toBe(true);
      if (isStaged(id, '1.0.0', 30)) in30++;
    }
    expect(in30).toBeGreaterThan(500);
    expect(in30).toBeLessThan(700);
  });

  it('raising a percentage only adds installs', () => {
    for (let i = 0; i < 500; i++) {
      if (isStaged(`id-${i}`, '1.0.0', 20)) expect(isStaged(`id-${i}`, '1.0.0', 50)).toBe(true);
    }
  });
});
