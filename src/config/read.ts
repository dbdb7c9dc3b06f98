// Step 2: validate the written shape field by field, so that one wrong value neither hides the
// problems of the others nor stops the cross-field checks from running on the fields that are
// valid. Each mapping becomes a Part: the fields that passed, and the names of those that did not.
import type { z } from 'zod';
import { kindOf, mapping, unknownKeyMessage } from './fields.js';
import type { Issue, Path } from './path.js';
import {
  ALERTS_EXAMPLE,
  alertsShape,
  KEY_RESULT_EXAMPLE,
  keyResultShape,
  OBJECTIVE_EXAMPLE,
  objectiveShape,
  rootFields,
  type WrittenKeyResult,
  type WrittenObjective,
} from './schema.js';

type Shape = Record<string, z.ZodType>;
type Fields<S extends Shape> = { [K in keyof S]?: z.output<S[K]> };

export interface Part<T> {
  path: Path;
  /** The fields that are valid; a field with problems is absent and named in `failed`. */
  value: Partial<T>;
  failed: ReadonlySet<string>;
  /** True when nothing in this mapping has a problem (no failed field, no unknown key). */
  ok: boolean;
}

export type WrittenRoot = Fields<typeof rootFields>;
export type WrittenAlerts = Fields<typeof alertsShape>;

export interface WrittenTree {
  root: Part<WrittenRoot>;
  /** `alerts`, field by field (all absent when the file has no `alerts`). */
  alerts: Part<WrittenAlerts>;
  objectives: Array<Part<WrittenObjective> & { keyResults: Array<Part<WrittenKeyResult>> }>;
  /** Channel names as written (even when a channel has problems); null when unreadable. */
  channelNames: string[] | null;
  /** Channel name -> its `type` as written (undefined when it has none); null when unreadable. */
  channelTypes: ReadonlyMap<string, unknown> | null;
  /** Sources written under `sources` (even when one has problems); null when unreadable. */
  sourceNames: string[] | null;
}

/** Keys of the mapping at `key` in `parent`: [] when absent or empty, null when not a mapping. */
function keysAt(parent: unknown, key: string): string[] | null {
  if (parent === undefined || parent === null) return [];
  if (typeof parent !== 'object' || Array.isArray(parent)) return null;
  const value = (parent as Record<string, unknown>)[key];
  if (value === undefined || value === null) return [];
  return typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : null;
}

function toIssues(error: z.ZodError, base: Path): Issue[] {
  return error.issues.map((issue) => ({
    path: [...base, ...(issue.path as Array<string | number>)],
    message: issue.message,
    at: (issue as { params?: { at?: 'key' } }).params?.at ?? 'value',
  }));
}

/** Top-level `x-...` keys are the user's own (like docker-compose): a place for YAML anchors. */
const isExtension = (key: string, path: Path): boolean => path.length === 0 && key.startsWith('x-');

function readFields<S extends Shape>(shape: S, example: string, raw: unknown, path: Path, issues: Issue[]): Part<Fields<S>> {
  const failed = new Set<string>();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const result = mapping(shape, example).safeParse(raw);
    if (!result.success) issues.push(...toIssues(result.error, path));
    Object.keys(shape).forEach((key) => failed.add(key));
    return { path, value: {}, failed, ok: false };
  }
  const record = raw as Record<string, unknown>;
  const known = Object.keys(shape);
  let ok = true;
  for (const key of Object.keys(record)) {
    if (known.includes(key) || isExtension(key, path)) continue;
    issues.push({ path: [...path, key], at: 'key', message: unknownKeyMessage(key, known) });
    ok = false;
  }
  const value: Record<string, unknown> = {};
  for (const key of known) {
    const result = shape[key]!.safeParse(record[key]);
    if (result.success) {
      if (result.data !== undefined) value[key] = result.data;
    } else {
      issues.push(...toIssues(result.error, [...path, key]));
      failed.add(key);
      ok = false;
    }
  }
  return { path, value: value as Fields<S>, failed, ok };
}

/** The channels' `type` as written, by name: [] when absent or empty, null when not a mapping. */
function typesAt(alerts: unknown): Map<string, unknown> | null {
  const names = keysAt(alerts, 'channels');
  if (names === null) return null;
  const channels = (alerts as { channels?: Record<string, unknown> } | null)?.channels ?? {};
  return new Map(
    names.map((name) => {
      const channel = channels[name];
      const type = channel !== null && typeof channel === 'object' ? (channel as { type?: unknown }).type : undefined;
      return [name, type];
    }),
  );
}

export interface ReadOptions {
  /** A file of a directory (config/okrs.d/): it may hold only settings, without objectives. */
  objectivesOptional?: boolean;
}

const rootFieldsOfDirectory = { ...rootFields, objectives: rootFields.objectives.optional() };

export function readTree(raw: unknown, options: ReadOptions = {}): { tree: WrittenTree; issues: Issue[] } {
  const issues: Issue[] = [];
  const empty: Part<WrittenRoot> = { path: [], value: {}, failed: new Set(Object.keys(rootFields)), ok: false };
  const noAlerts: Part<WrittenAlerts> = { path: ['alerts'], value: {}, failed: new Set(Object.keys(alertsShape)), ok: false };
  const unreadable = { root: empty, alerts: noAlerts, objectives: [], channelNames: null, channelTypes: null, sourceNames: null };
  if (raw === null || raw === undefined) {
    issues.push({ path: [], message: 'the file is empty; start from config/okrs.example.yaml (version: 1, objectives: ...)' });
    return { tree: unreadable, issues };
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({
      path: [],
      message: `the file must be a mapping with version, sources and objectives, not ${kindOf(raw)}; start from config/okrs.example.yaml`,
    });
    return { tree: unreadable, issues };
  }

  const root = readFields(options.objectivesOptional ? rootFieldsOfDirectory : rootFields, 'a mapping', raw, [], issues) as Part<WrittenRoot>;
  // `alerts:` with nothing under it means all defaults, like leaving it out.
  const writtenAlerts = (raw as Record<string, unknown>).alerts ?? {};
  const alerts = readFields(alertsShape, ALERTS_EXAMPLE, writtenAlerts, ['alerts'], issues);
  const written = (raw as Record<string, unknown>).objectives;
  const objectives = (Array.isArray(written) ? written : []).map((objective: unknown, i) => {
    const path: Path = ['objectives', i];
    const part = readFields(objectiveShape, OBJECTIVE_EXAMPLE, objective, path, issues);
    const list = (objective as { keyResults?: unknown } | null)?.keyResults;
    const keyResults = (Array.isArray(list) ? list : []).map((kr: unknown, j) =>
      readFields(keyResultShape, KEY_RESULT_EXAMPLE, kr, [...path, 'keyResults', j], issues),
    );
    return { ...(part as Part<WrittenObjective>), keyResults: keyResults as Array<Part<WrittenKeyResult>> };
  });
  const record = raw as Record<string, unknown>;
  const channelNames = keysAt(record.alerts, 'channels');
  const channelTypes = typesAt(record.alerts);
  const sourceNames = keysAt(record, 'sources');
  return { tree: { root, alerts, objectives, channelNames, channelTypes, sourceNames }, issues };
}
