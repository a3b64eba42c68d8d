/** The record type the state-layer unit tests store: an ID and a number, parsed strictly. */
export interface Item {
  id: string;
  value: number;
}

export function parseItem(raw: unknown): Item {
  const o = raw as Partial<Item> | null;
  if (!o || typeof o.id !== 'string' || typeof o.value !== 'number') throw new Error('not an item');
  return { id: o.id, value: o.value };
}
