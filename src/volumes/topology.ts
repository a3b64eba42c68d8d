import type { TopologyRequirement, TopologySegments } from '../domain/topology';

/** The one topology key: a volume lives on the disk of exactly one node. */
export const TOPOLOGY_KEY = 'topology.hostpath.csi.dev/node';

export function nodeTopology(nodeId: string): { segments: Record<string, string> } {
  return { segments: { [TOPOLOGY_KEY]: nodeId } };
}

export function topologyMatchesNode(topology: TopologySegments, nodeId: string): boolean {
  return topology.segments[TOPOLOGY_KEY] === nodeId;
}

/**
 * CSI spec, TopologyRequirement: `requisite` is a hard constraint (the volume MUST be accessible from at least one of
 * them); `preferred` only orders choices, so with one node it changes nothing.
 */
export function requirementAllowsNode(req: TopologyRequirement | null, nodeId: string): boolean {
  if (!req || req.requisite.length === 0) return true;
  return req.requisite.some((t) => topologyMatchesNode(t, nodeId));
}
