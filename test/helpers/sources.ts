import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** src/, as the architecture tests read it. */
export const SRC = path.resolve(__dirname, '..', '..', 'src');

/** Every hand-written .ts file under `dir` (src/generated is generated, so left out). */
export async function sources(dir: string = SRC): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'generated') out.push(...(await sources(p)));
    else if (e.isFile() && e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}
