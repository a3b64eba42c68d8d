import type { TopologyRequirement__Output } from '../generated/csi/v1/TopologyRequirement';
import type { Topology__Output } from '../generated/csi/v1/Topology';
import type { TopologyRequirement, TopologySegments } from '../domain/topology';

/** A wire Topology copied into the domain's shape (the wire object is not handed on). */
export function parseTopology(t: Topology__Output | null): TopologySegments | null {
  return t ? { segments: { ...t.segments } } : null;
}

/** CreateVolume's accessibility_requirements in the domain's shape; null when the CO sent none. */
export function parseTopologyRequirement(req: TopologyRequirement__Output | null): TopologyRequirement | null {
  if (!req) return null;
  return { requisite: req.requisite.map((t) => ({ segments: { ...t.segments } })), preferred: req.preferred.map((t) => ({ segments: { ...t.segments } })) };
}
