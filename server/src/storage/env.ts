/** The environment variable naming the storage (apart from index.ts: the CLI reads it without loading a backend). */
export const STORAGE_ENV = 'ELECTRON_TUF_STORAGE';
