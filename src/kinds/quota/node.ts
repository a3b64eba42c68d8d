import { directoryNode } from '../dir/node';
import type { NodeKindHalf } from '../../node/node-kind';

/** On the node a quota volume is a directory like any other: the kernel enforces its limit wherever it is mounted. */
export const quotaNode: NodeKindHalf = directoryNode;
