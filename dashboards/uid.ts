// Dashboard uids, kept apart from the generator so that alert rules and alert messages can link
// to dashboards without loading the Grafana SDK.
import { createHash } from 'node:crypto';

/** Grafana rejects longer dashboard uids (MaxUIDLength in grafana/pkg/util/shortid_generator.go). */
export const UID_MAX_LENGTH = 40;

export const OVERVIEW_UID = 'krt-overview';
export const DORA_UID = 'krt-dora';
export const SOURCE_HEALTH_UID = 'krt-source-health';

/** The uids of the dashboards over all objectives; no objective dashboard takes one. */
export const SHARED_UIDS: readonly string[] = [OVERVIEW_UID, DORA_UID, SOURCE_HEALTH_UID];

/**
 * `krt-<objective id>`; a longer one is cut and ends with a hash of the id, so it stays unique, and
 * so does one that would be a shared dashboard's uid (an objective with the id `overview`).
 */
export function dashboardUid(objectiveId: string): string {
  const uid = `krt-${objectiveId}`;
  if (uid.length <= UID_MAX_LENGTH && !SHARED_UIDS.includes(uid)) return uid;
  const hash = createHash('sha256').update(objectiveId).digest('hex').slice(0, 8);
  return `${uid.slice(0, UID_MAX_LENGTH - hash.length - 1)}-${hash}`;
}
