import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { libraryPatchActive } from '../metrics/metrics';

/**
 * Every place the code relies on a library's internals (not its documented API) lives in
 * core/patches, one file per library, and reports here at start-up: the version it was written
 * for, the version installed, and whether the shape it needs is there. docs/architecture.md has
 * the table (library, what, measured gain, how to remove it).
 *
 * Two policies, chosen per patch:
 * - `required`: without it the product would behave wrongly (not just cost more); a failed check
 *   throws, so the process refuses to start with the reason.
 * - `optional`: without it only a measured saving is lost; a failed check logs one warning,
 *   sets library_patch_active{library,patch} to 0 and the library's own code path runs.
 */
export interface PatchCheck {
  library: string;
  patch: string;
  /** The versions the patch was written and tested against (a semver-ish range, for people). */
  writtenFor: string;
  installed: string;
  ok: boolean;
  /** Why the check failed. */
  reason?: string;
}

export class PatchShapeError extends Error {
  constructor(readonly check: PatchCheck) {
    super(`${check.library} ${check.installed}: ${check.patch} cannot be applied (${check.reason}); it was written for ${check.writtenFor} — see core/patches and docs/architecture.md`);
    this.name = 'PatchShapeError';
  }
}

const logger = new Logger('LibraryPatches');
const reported = new Map<string, PatchCheck>();

/** The installed version of a package (its package.json, found from its entry point). */
export function installedVersion(pkg: string, from: string = __dirname): string {
  try {
    let dir = dirname(require.resolve(pkg, { paths: [from] }));
    for (let i = 0; i < 6; i++) {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (manifest.name === pkg && manifest.version) return manifest.version;
      } catch {
        /* not the package root yet */
      }
      dir = dirname(dir);
    }
  } catch {
    /* not installed */
  }
  return 'unknown';
}

/** Records the outcome of a patch's start-up check; a failed `required` check throws PatchShapeError. */
export function reportPatch(check: PatchCheck, policy: 'required' | 'optional'): PatchCheck {
  reported.set(`${check.library}:${check.patch}`, check);
  libraryPatchActive.set({ library: check.library, patch: check.patch }, check.ok ? 1 : 0);
  if (check.ok) return check;
  if (policy === 'required') throw new PatchShapeError(check);
  logger.warn({ ...check }, `${check.library} ${check.installed}: ${check.patch} not applied (${check.reason}); running the library's own path`);
  return check;
}

/** What has been checked in this process (for specs and /api/performance/detailed). */
export function patchChecks(): PatchCheck[] {
  return [...reported.values()];
}
