import { afterAll, beforeAll } from 'vitest';
import type { Form } from './node-plugin';
import { installOverlay, type Installation } from './pods';

/**
 * For a case file's describe block: the node plugin installed from an overlay before its tests (after `prepare`,
 * e.g. importing an image the overlay names) and removed after them, whatever they did.
 */
export function overlayForSuite(form: Form, prepare: () => Promise<void> = async () => undefined): void {
  let installed: Installation | undefined;
  beforeAll(async () => {
    await prepare();
    installed = await installOverlay(form);
  });
  afterAll(async () => {
    if (installed) await installed.remove();
  });
}
