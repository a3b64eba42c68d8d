/**
 * Shape checks for records read back from disk. A record that fails one is torn or hand-edited: the store
 * quarantines it (src/state/record-store.ts) instead of trusting it.
 */
export type Obj = Record<string, unknown>;

export function obj(raw: unknown, what: string): Obj {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error(`${what} is not an object`);
  return raw as Obj;
}

export function str(o: Obj, key: string): string {
  if (typeof o[key] !== 'string') throw new Error(`field ${key} is not a string`);
  return o[key] as string;
}

/** A string field that may be absent or null (fields added after records were first written). */
export function optStr(o: Obj, key: string): string | null {
  return o[key] === undefined || o[key] === null ? null : str(o, key);
}

export function bool(o: Obj, key: string): boolean {
  if (typeof o[key] !== 'boolean') throw new Error(`field ${key} is not a boolean`);
  return o[key] as boolean;
}

export function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[]): T {
  const v = str(o, key);
  if (!(allowed as readonly string[]).includes(v)) throw new Error(`field ${key} has unknown value ${JSON.stringify(v)}`);
  return v as T;
}

export function strMap(o: Obj, key: string): Record<string, string> {
  const m = obj(o[key], key);
  for (const [k, v] of Object.entries(m)) if (typeof v !== 'string') throw new Error(`${key}.${k} is not a string`);
  return m as Record<string, string>;
}

export function strList(o: Obj, key: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`field ${key} is not a list of strings`);
  return v as string[];
}

/** A decimal byte count (int64 does not fit a JSON number). */
export function decimalSize(o: Obj, key: string): string {
  const v = str(o, key);
  if (!/^\d{1,19}$/.test(v)) throw new Error(`${key} is not a decimal size`);
  return v;
}

/**
 * The format of state records this build writes and reads. Every record file and journaled record carries it as
 * `formatVersion`, so a later release can tell which records to migrate. Records written before the field existed
 * have none and are version 1. Raise it, and teach the reader the old format, when a record's meaning changes.
 */
export const RECORD_FORMAT_VERSION = 1;

/** The record as written to disk: the format version first, then the record's own fields. */
export function withFormatVersion(record: object): Obj {
  return { formatVersion: RECORD_FORMAT_VERSION, ...record };
}

/**
 * Wraps a record parser with the format check. A record from a newer release is refused (thrown, so the store
 * quarantines it and leaves its data alone) rather than read as if this build understood it.
 */
export function versionChecked<T>(parse: (raw: unknown) => T): (raw: unknown) => T {
  return (raw) => {
    const v = raw !== null && typeof raw === 'object' ? (raw as Obj)['formatVersion'] : undefined;
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)) {
      throw new Error(`field formatVersion is not a positive integer: ${JSON.stringify(v)}`);
    }
    if (typeof v === 'number' && v > RECORD_FORMAT_VERSION) {
      throw new Error(`record format version ${v} is newer than this build reads (${RECORD_FORMAT_VERSION}): written by a later release`);
    }
    return parse(raw);
  };
}
