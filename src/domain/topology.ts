/**
 * Topology as the domain sees it (CSI spec, Topology and TopologyRequirement): plain data that validation copies out
 * of the wire request (src/validate/topology.ts), so no generated type reaches volumes/.
 */

/** One accessible segment set: topology key → value. */
export interface TopologySegments {
  readonly segments: Readonly<Record<string, string>>;
}

/** CreateVolume's accessibility_requirements: `requisite` must include the volume's node; `preferred` only orders. */
export interface TopologyRequirement {
  readonly requisite: readonly TopologySegments[];
  readonly preferred: readonly TopologySegments[];
}
