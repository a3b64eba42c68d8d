import { describe, expect, it } from 'vitest';
import { pluginCapabilities } from '../../../src/services/identity';
import { testConfig } from '../../helpers/fakes';

const advertised = (flags: Record<string, string>): unknown[] =>
  (pluginCapabilities(testConfig(flags)).capabilities ?? []).map((c) => c.service?.type);

describe('--snapshot-metadata', () => {
  it('is off by default: the service is not advertised (the sidecar would otherwise expect it)', () => {
    expect(testConfig({}).snapshotMetadata).toBe('off');
    expect(advertised({})).not.toContain('SNAPSHOT_METADATA_SERVICE');
  });

  it('fixed-length and variable-length choose the BlockMetadataType and advertise SNAPSHOT_METADATA_SERVICE', () => {
    expect(testConfig({ 'snapshot-metadata': 'fixed-length' }).snapshotMetadata).toBe('FIXED_LENGTH');
    expect(testConfig({ 'snapshot-metadata': 'variable-length' }).snapshotMetadata).toBe('VARIABLE_LENGTH');
    expect(advertised({ 'snapshot-metadata': 'variable-length' })).toContain('SNAPSHOT_METADATA_SERVICE');
  });

  it('refuses any other value', () => {
    expect(() => testConfig({ 'snapshot-metadata': 'yes' })).toThrow(/snapshot-metadata/);
  });
});
