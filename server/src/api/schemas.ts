/** Request and response schemas of the API (TypeBox: JSON Schema for validation and OpenAPI). */
import { Type } from 'typebox';
import { REPOSITORY_NAME } from '../repositories.js';

const Name = Type.String({ pattern: REPOSITORY_NAME, description: 'repository name: lowercase letters, digits and -' });
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Version = Type.String({ minLength: 1, maxLength: 128 });
const Word = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
const Percentage = Type.Integer({ minimum: 0, maximum: 100 });

export const RepoParams = Type.Object({ repo: Name });
export const Error = Type.Object({ error: Type.String() });
export const TaskAccepted = Type.Object({ task: Type.String(), state: Type.String() });

export const KeyReference = Type.Object(
  {
    dir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    env: Type.Optional(Type.Record(Type.String({ maxLength: 16 }), Type.String({ maxLength: 128 }))),
    module: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  },
  { additionalProperties: false },
);

export const Bootstrap = Type.Object(
  {
    name: Name,
    metadata: Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 16 * 1024 * 1024 })),
    settings: Type.Optional(Type.String({ maxLength: 64 * 1024 })),
    keys: KeyReference,
  },
  { additionalProperties: false },
);

export const Installer = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9][A-Za-z0-9 ._+-]*$' }),
    length: Type.Integer({ minimum: 1 }),
    sha256: Sha256,
  },
  { additionalProperties: false },
);

export const AddRelease = Type.Object(
  {
    version: Version,
    platform: Word,
    arch: Word,
    channel: Type.Optional(Word),
    notes: Type.Optional(Type.String({ maxLength: 64 * 1024 })),
    staging: Type.Optional(Percentage),
    installers: Type.Array(Installer, { minItems: 1, maxItems: 32 }),
  },
  { additionalProperties: false },
);

export const ReleaseParams = Type.Object({ repo: Name, version: Version });
export const ChannelQuery = Type.Object({ channel: Type.Optional(Word) }, { additionalProperties: false });

export const StagingChange = Type.Object(
  { platform: Word, arch: Word, channel: Word, staging: Percentage },
  { additionalProperties: false },
);

export const UploadParams = Type.Object({ repo: Name, sha256: Sha256 });
/** Asks where to upload an installer of this exact length. */
export const UploadRequest = Type.Object(
  { length: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) },
  { additionalProperties: false },
);

export const TaskParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) });

export const CreateToken = Type.Object(
  {
    scope: Type.Union([Type.Literal('admin'), Type.Literal('publish')]),
    repository: Type.Optional(Name),
    channel: Type.Optional(Word),
    label: Type.Optional(Type.String({ maxLength: 200 })),
    expiresInDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
  },
  { additionalProperties: false },
);

export const TokenParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

export const RotateRoot = Type.Object(
  {
    role: Type.Union([
      Type.Literal('root'),
      Type.Literal('targets'),
      Type.Literal('snapshot'),
      Type.Literal('timestamp'),
      Type.Literal('bins'),
    ]),
    addKeys: Type.Optional(Type.Array(Type.String({ maxLength: 16 * 1024 }), { maxItems: 32 })),
    removeKeys: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9a-f]{8,64}$' }), { maxItems: 32 })),
    threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 32 })),
    expiresDays: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 3650 })),
  },
  { additionalProperties: false },
);

export const RootVersionParams = Type.Object({ repo: Name, version: Type.String({ pattern: '^[1-9][0-9]{0,9}$' }) });

export const RootSignature = Type.Object(
  { signature: Type.String({ minLength: 2, maxLength: 16 * 1024 }) },
  { additionalProperties: false },
);
