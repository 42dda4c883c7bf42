/**
 * What `repo add` accepts (publisher/release-input.ts): file names without control or
 * bidirectional characters (issue 11, finding 7), installer kinds that fit the platform, one
 * installer per kind, and a warning when the file name names another version (issue 10).
 */
import { describe, expect, it } from 'vitest';
import { validateReleaseInput } from '../../publisher/release-input.js';

const request = (files: string[], platform = 'linux', version = '1.2.0') => ({ files, version, platform, arch: 'x64' });

describe('file names', () => {
  it.each([
    ['right-to-left override', 'My\u202eApp.tar.gz', 'U+202E'],
    ['left-to-right mark', 'MyApp\u200e.tar.gz', 'U+200E'],
    ['right-to-left mark', 'MyApp\u200f.tar.gz', 'U+200F'],
    ['left-to-right embedding', 'My\u202aApp.tar.gz', 'U+202A'],
    ['first strong isolate', 'My\u2068App.tar.gz', 'U+2068'],
    ['pop directional isolate', 'My\u2069App.tar.gz', 'U+2069'],
    ['NUL', 'My\u0000App.tar.gz', 'U+0000'],
    ['newline', 'My\nApp.tar.gz', 'U+000A'],
    ['DEL', 'My\u007fApp.tar.gz', 'U+007F'],
    ['C1 control', 'My\u0085App.tar.gz', 'U+0085'],
  ])('refuses a %s', (_what, name, code) => {
    expect(() => validateReleaseInput(request([`/tmp/${name}`]))).toThrow(
      `${JSON.stringify(name)}: file names must not contain control or bidirectional characters (found ${code}); rename the file`,
    );
  });

  it('accepts ordinary names, non-ASCII letters included', () => {
    const input = validateReleaseInput(
      request(['/b/MyApp-1.2.0.tar.gz', '/b/Éditeur-1.2.0.AppImage', '/b/app_1.2.0_amd64.deb']),
    );
    expect(input.files.map((f) => [f.path, f.kind])).toEqual([
      ['1.2.0/MyApp-1.2.0.tar.gz', 'tar.gz'],
      ['1.2.0/Éditeur-1.2.0.AppImage', 'AppImage'],
      ['1.2.0/app_1.2.0_amd64.deb', 'deb'],
    ]);
    expect(input.warnings).toEqual([]);
  });
});

describe('installer kind and platform', () => {
  it.each([
    [
      'MyApp-Setup.exe',
      'linux',
      'MyApp-Setup.exe is a nsis installer, which does not install on linux (nsis is for win32)',
    ],
    ['MyApp.dmg', 'win32', 'MyApp.dmg is a dmg installer, which does not install on win32 (dmg is for darwin)'],
    [
      'MyApp.AppImage',
      'darwin',
      'MyApp.AppImage is a AppImage installer, which does not install on darwin (AppImage is for linux)',
    ],
    ['myapp.deb', 'win32', 'myapp.deb is a deb installer, which does not install on win32 (deb is for linux)'],
  ])('refuses %s for %s', (name, platform, message) => {
    expect(() => validateReleaseInput(request([`/b/${name}`], platform))).toThrow(message);
  });

  it('refuses two installers of one kind in one release', () => {
    expect(() => validateReleaseInput(request(['/b/MyApp-1.2.0.tar.gz', '/c/Other-1.2.0.tar.gz']))).toThrow(
      'MyApp-1.2.0.tar.gz and Other-1.2.0.tar.gz are both tar.gz installers: a release has one installer of each kind',
    );
  });
});

describe('versions named in file names', () => {
  it.each([
    ['MyApp-1.1.0.tar.gz', '1.2.0', ['MyApp-1.1.0.tar.gz names version 1.1.0, but it is published as 1.2.0']],
    ['MyApp-1.2.0.tar.gz', '1.2.0', []],
    ['MyApp-1.2.0-arm64.tar.gz', '1.2.0', []],
    ['MyApp-1.2.0-beta.1.tar.gz', '1.2.0-beta.1', []],
    ['MyApp-v1.2.0.tar.gz', '1.2.0', []],
    ['MyApp.tar.gz', '1.2.0', []],
    ['MyApp-12.0.0.tar.gz', '2.0.0', ['MyApp-12.0.0.tar.gz names version 12.0.0, but it is published as 2.0.0']],
  ])('%s as %s', (name, version, warnings) => {
    expect(validateReleaseInput(request([`/b/${name}`], 'linux', version)).warnings).toEqual(warnings);
  });
});
