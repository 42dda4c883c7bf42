/** gc's defaults, apart from gc.ts so that the CLI reads them without loading the collector. */
export const DEFAULT_GRACE_DAYS = 7;
/** Presigned URLs expire after 15 minutes: an upload a day old that no release names was abandoned. */
export const DEFAULT_UPLOAD_GRACE_DAYS = 1;
