/**
 * @deprecated The release format moved to updater/release/ (it is the publisher/app-updater
 * contract, not part of the TUF model). This re-export keeps `electron-tuf/core` and modules
 * not yet updated working; import from '../release/index.js'.
 */
export * from '../release/index.js';
