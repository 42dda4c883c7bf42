/**
 * The order test files start in. Two forks share the files: a long file started last keeps one
 * fork busy while the other has nothing left, so the longest files go first. vitest orders by
 * the durations it cached on an earlier run; on a fresh checkout (CI) it has none and starts the
 * largest files first, which are quick unit tests, leaving the builds and spawned services for
 * the end. Without a full cache, the files that build apps or run services go first here
 * (in vitest's order among themselves), then the rest.
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that run electron-builder, spawn the service or npm: tens of seconds each. The longest
 * (two builds packing a 32 MiB stand-in Electron) first of all.
 */
const SLOW_FIRST = [
  /^test\/e2e\/differential-demo\.test\.ts$/,
  /^test\/e2e\//,
  /^test\/publisher\/processes\.test\.ts$/,
  /^test\/package\//,
  /^server\/test\//,
];

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const pathOf = (spec: TestSpecification): string => relative(this.ctx.config.root, spec.moduleId);
    const cached = sorted.every((spec) => this.ctx.cache.getFileTestResults(`${spec.project.name}:${pathOf(spec)}`));
    if (cached) return sorted;
    const rank = (spec: TestSpecification): number => {
      const index = SLOW_FIRST.findIndex((pattern) => pattern.test(pathOf(spec)));
      return index === -1 ? SLOW_FIRST.length : index;
    };
    // Array.prototype.sort is stable: vitest's order stays within each rank.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
