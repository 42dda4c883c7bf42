/** electron-tuf/core: the metadata model, canonical JSON, keys and signatures (pure, no I/O). */
export * from './errors.js';
export { canonicalize, canonicalString, parseJsonLossless } from './canonical.js';
export {
  Metadata,
  Root,
  Timestamp,
  Snapshot,
  Targets,
  MetaFile,
  TargetFile,
  formatExpires,
  SPEC_VERSION,
  type AnySigned,
  type Signature,
} from './metadata.js';
export { Delegations, DelegatedRole, SuccinctRoles, isTargetInPathPattern } from './delegations.js';
export { Role, TOP_LEVEL_ROLES, type TopLevelRole } from './roles.js';
export {
  computeKeyId,
  generateKey,
  keyMaterialId,
  publicKeyFromPrivateKeyPem,
  signerFromPrivateKeyPem,
  verifySignature,
  type KeyAlgorithm,
  type PublicKey,
  type Signer,
} from './keys.js';
export { countSignatures, verifyDelegate, type SignatureCount } from './verify.js';
export { LengthAndHashVerifier, verifyLengthAndHashes, digest } from './hashes.js';
