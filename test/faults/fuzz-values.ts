import fc from 'fast-check';

/** Paths the fuzzer aims at: inside kubelet's directory (allowed), and everything that must never be touched. */
export interface FuzzPaths {
  kubelet: string;
  honey: string;
  /** kubelet/escape is a symlink to the honey pot. */
  escapeLink: string;
  canary: string;
  cwd: string;
}

const MAX_ID = 128;
const OBJECT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function isWellFormedId(s: string): boolean {
  return OBJECT_ID.test(s) && Buffer.byteLength(s) <= MAX_ID;
}

/** Strings that have broken other drivers: paths, NUL, shell syntax, format strings, unicode, control bytes, sizes. */
export function nastyStrings(p: FuzzPaths): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(
      ' ', '.', '..', '../x', '../../../etc/passwd', '/etc/shadow', 'a/b', 'a\0b', '\0', '\n', '\r\n', '%s%n%x', '${HOME}',
      `$(touch ${p.canary})`, `\`touch ${p.canary}\``, `; touch ${p.canary}`, `|| touch ${p.canary} ||`, `-rf`, `--help`,
      'тома', '🙂', '\u202e', 'a'.repeat(MAX_ID + 1), 'x'.repeat(5000), p.honey, `${p.kubelet}/../x`,
    ),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ minLength: 257, maxLength: 3000 }),
  );
}

/** Non-empty strings that are not IDs this driver could have issued. */
export function malformedIds(p: FuzzPaths): fc.Arbitrary<string> {
  return nastyStrings(p).filter((s) => s !== '' && !isWellFormedId(s));
}

/** Well-formed IDs of nothing. */
export const unknownIds: fc.Arbitrary<string> = fc.uuid().map((u) => `fz-${u}`);

/** Target or staging paths that are wrong in one way each: all INVALID_ARGUMENT before the driver touches disk. */
export function badNodePaths(p: FuzzPaths): fc.Arbitrary<{ path: string; why: string }> {
  return fc.oneof(
    fc.constantFrom(
      { path: 'relative/target', why: 'relative' },
      { path: './x', why: 'relative' },
      { path: `${p.kubelet}/pods/../../honey/x`, why: "'..'" },
      { path: `${p.kubelet}/pods/a\0b`, why: 'NUL' },
      { path: `${p.honey}/x`, why: 'outside the allowed root' },
      { path: '/etc/kubernetes', why: 'outside the allowed root' },
      { path: '/', why: 'root' },
      { path: p.kubelet, why: 'the allowed root itself' },
      { path: `${p.escapeLink}/x`, why: 'a symlink out of the allowed root' },
      { path: `${p.kubelet}/${'a'.repeat(4100)}`, why: 'longer than 4096 bytes' },
    ),
    malformedIds(p).map((s) => ({ path: s.startsWith('/') ? `${p.honey}${s}` : s, why: 'not an absolute path under the root' })),
  );
}

/** int64 sizes the spec forbids: negative, or whatever the decimal text wraps to on the wire. */
export const negativeSizes: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('-1', '-9223372036854775808', '-4096'),
  fc.bigInt({ min: -(2n ** 63n), max: -1n }).map(String),
);

/** Sizes above --max-volume-size (1Gi in the fuzz run), up to int64's maximum. */
export const hugeSizes: fc.Arbitrary<string> = fc.oneof(fc.constant('9223372036854775807'), fc.bigInt({ min: 2n ** 31n, max: 2n ** 63n - 1n }).map(String));

/** Access modes the spec does not have: UNKNOWN (0) and numbers past the last one, negative too. */
export const bogusModes: fc.Arbitrary<number> = fc.oneof(fc.constant(0), fc.integer({ min: 8, max: 2 ** 31 - 1 }), fc.integer({ min: -(2 ** 31), max: -1 }));

/** Mount flags that are not plain option words. */
export const badMountFlags: fc.Arbitrary<string> = fc.constantFrom('rw;rm -rf /', '$(reboot)', 'a b', '', 'x'.repeat(300), 'bind\0', 'nosuid\n');

/** Pagination tokens this driver never issued. */
export const garbageTokens: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 60 }),
  fc.constantFrom('0', '-1', 'null', '{}', Buffer.from('{"v":2,"after":"x"}').toString('base64url'), Buffer.from('{"v":1}').toString('base64url')),
);

/** Secret maps whose values must never reach a log. */
export function secretMaps(marker: string): fc.Arbitrary<Record<string, string>> {
  return fc.dictionary(fc.constantFrom('password', 'token', 'key', 'csi.storage.k8s.io/secret'), fc.string({ maxLength: 20 }).map((s) => `${marker}${s}`), { maxKeys: 3 });
}
