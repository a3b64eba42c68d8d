/**
 * Kubernetes resource quantities (`256Mi`, `1G`, `1.5Gi`, `1073741824`) to bytes. Fractions that do not land on a
 * whole byte are rounded up, as Kubernetes does for storage requests.
 */
const SUFFIX: Readonly<Record<string, bigint>> = {
  '': 1n,
  k: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  P: 1000n ** 5n,
  E: 1000n ** 6n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};

const QUANTITY = /^(\d{1,30})(?:\.(\d{1,30}))?(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** Returns the number of bytes, or null when the text is not a non-negative quantity. */
export function parseQuantity(text: string): bigint | null {
  const m = QUANTITY.exec(text.trim());
  if (!m) return null;
  const [, whole, frac = '', suffix = ''] = m;
  const scale = 10n ** BigInt(frac.length);
  const numerator = (BigInt(whole!) * scale + BigInt(frac || '0')) * SUFFIX[suffix]!;
  return (numerator + scale - 1n) / scale;
}

export const INT64_MAX = 2n ** 63n - 1n;
