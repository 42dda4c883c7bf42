/**
 * electron-tuf/publisher: create and run a static TUF repository of app releases.
 *
 * One async function per CLI command (`electron-tuf repo <command>`), each taking an options
 * object and returning a structured result. Failures are TufError subclasses (ValueError for
 * bad input, RepositoryError for a damaged repository, StorageError for disk or lock trouble).
 */
export { initRepository, type InitOptions, type InitResult } from './init.js';
export {
  addRelease,
  addReleases,
  addTargets,
  type AddReleaseOptions,
  type AddReleaseResult,
  type AddTargetsOptions,
  type AddTargetsResult,
  type AddedTarget,
  type ReleaseSpec,
  type TargetEntry,
  type TargetStatus,
} from './add.js';
export { removeRelease, type RemoveReleaseOptions, type RemoveReleaseResult } from './remove.js';
export { refreshRepository, type RefreshOptions, type RefreshResult, type RoleRefresh } from './refresh.js';
export { rotateKeys, type RotateOptions, type RotateResult } from './rotate.js';
export { signStaged, type SignOptions, type SignResult } from './sign-staged-root.js';
export { repositoryStatus, type RoleStatus, type StatusOptions, type StatusResult } from './status.js';
export { listReleases, type ListedIndex, type ListedRelease, type ListOptions, type ListResult } from './list.js';
export { verifyRepository, type RoleHorizon, type VerifyOptions, type VerifyResult } from './verify.js';
export { serveRepository, type RepositoryServer, type ServeOptions } from './serve.js';
export {
  generateKeyFile,
  KeyDirectory,
  KeyRing,
  roleKeyEnvVar,
  type GeneratedKeyFile,
  type KeyEntry,
  type KeyRingOptions,
} from './keystore.js';
export { DEFAULT_LIFETIMES, MANAGED_ROLES, type Lifetimes, type ManagedRole } from './config.js';
export type { KeyOptions, RepositoryOptions } from './options.js';
export {
  editRepository,
  RepositoryEdit,
  type PublishReport,
  type PublishSigners,
  type TransactionOptions,
  type TransactionResult,
  type WrittenFile,
} from './transaction.js';
export { validateReleaseInput, type ReleaseInput, type ReleaseRequest } from './release-input.js';
export type { ReleaseEditOptions, ReleaseEditResult, RemovalResult, TargetsEditResult } from './release-edits.js';
export {
  cleanIncoming,
  hashAndCopy,
  discard,
  duplicateIncoming,
  type IncomingFile,
  type StageOptions,
  type StoredOrigin,
} from './target-store.js';
export { cleanupAfter, cleanupAfterFailure } from './cleanup.js';
export { eachConcurrently } from './concurrency.js';
export { CHUNK_MAP_KINDS, CHUNK_MAP_MIN_BYTES, chunkMapProblems, stageInstaller, wantsChunkMap } from './chunk-maps.js';
export { Chunker, chunkBytes, DEFAULT_CHUNKING, describeChunking, type ChunkingParameters } from './chunker.js';
export { DiskStorage, checkRemovable, type Prepared, type RepositoryStorage, type StorageArea } from './storage.js';
export {
  collectGarbage,
  DEFAULT_KEEP_SNAPSHOTS,
  type GarbageFloors,
  type GarbageOptions,
  type GarbageResult,
  type RemovedTarget,
} from './gc.js';
export { repositoryPaths, type RepositoryPaths } from './layout.js';
export { RepositoryState } from './repository.js';
export {
  MAX_STATE_BYTES,
  parseTrustedState,
  serializeTrustedState,
  STATE_FILE_ENV,
  type TrustedState,
  type TrustedStateStore,
} from './trusted-state.js';
export { parseConfig, serializeConfig, type RepositoryConfig } from './config.js';
export { metadataFileName, validatePublishedTargetPath } from './layout.js';

export type { StagedStatus } from './staged-root.js';
export {
  checkKeyId,
  diskStagedRootStore,
  detachedBytes,
  MAX_DETACHED_BYTES,
  MAX_STAGED_ROOT_BYTES,
  type DetachedSignature,
  type StagedRootStore,
  type StoredSignature,
} from './staged-root-store.js';
export type { Signer } from '../updater/core/keys.js';
export { cacheControlFor, resolveFile } from './serve.js';
