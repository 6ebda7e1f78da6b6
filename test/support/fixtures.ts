// The local fixture images (scripts/build-fixtures.sh): FROM scratch + static busybox httpd.
export const FIXTURE = {
  v1: 'patchbay/fixture:v1',
  v2: 'patchbay/fixture:v2',
  v3: 'patchbay/fixture:v3',
  /** listens, but /health answers 404 */
  broken: 'patchbay/fixture:broken',
  /** healthy, then exits after CRASH_AFTER seconds */
  crash: 'patchbay/fixture:crash',
  /** sleeps SLOW_START seconds before serving */
  slow: 'patchbay/fixture:slow',
} as const;

export const FIXTURE_IMAGES = Object.values(FIXTURE);
