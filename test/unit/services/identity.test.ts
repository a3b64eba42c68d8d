import { describe, expect, it } from 'vitest';
import { Gate } from '../../../src/grpc/unary';
import { identityHandlers } from '../../../src/services/identity';
import { invoke, silentLogger, testConfig } from '../../helpers/fakes';

function identity(ready: boolean) {
  const gate = new Gate();
  gate.ready = ready;
  return { gate, handlers: identityHandlers({ log: silentLogger(), gate }, testConfig({ 'driver-name': 'unit.csi.dev' })) };
}

describe('Identity service', () => {
  it('answers Probe not ready while starting', async () => {
    const { handlers } = identity(false);
    expect(await invoke(handlers.Probe, {})).toEqual({ ready: { value: false } });
  });

  it('answers Probe ready once serving', async () => {
    const { handlers } = identity(true);
    expect(await invoke(handlers.Probe, {})).toEqual({ ready: { value: true } });
  });

  it('answers GetPluginInfo before the driver is ready, with the configured name', async () => {
    const { handlers } = identity(false);
    expect(await invoke(handlers.GetPluginInfo, {})).toMatchObject({ name: 'unit.csi.dev' });
  });

  it('advertises the controller service and topology constraints', async () => {
    const { handlers } = identity(false);
    const res = await invoke(handlers.GetPluginCapabilities, {});
    expect(res.capabilities).toEqual(
      expect.arrayContaining([{ service: { type: 'CONTROLLER_SERVICE' } }, { service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } }]),
    );
  });

  it('advertises SNAPSHOT_ACCESSIBILITY_CONSTRAINTS with --csi-health-api=1.13 only (v1.12 clients reject it)', async () => {
    const plugin = async (api: string) => {
      const handlers = identityHandlers({ log: silentLogger(), gate: new Gate() }, testConfig({ 'csi-health-api': api }));
      return (await invoke(handlers.GetPluginCapabilities, {})).capabilities?.map((c) => c.service?.type);
    };
    expect(await plugin('1.13')).toContain('SNAPSHOT_ACCESSIBILITY_CONSTRAINTS');
    expect(await plugin('1.12')).not.toContain('SNAPSHOT_ACCESSIBILITY_CONSTRAINTS');
  });
});
