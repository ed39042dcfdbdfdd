// Every toxic definition by its Toxiproxy type name.
import type { AttributeSchema, ToxicDefinition, ToxicType } from '../toxic.js';
import { bandwidth } from './bandwidth.js';
import { halfClose } from './half-close.js';
import { latency } from './latency.js';
import { lifetime } from './lifetime.js';
import { limitData } from './limit-data.js';
import { resetPeer } from './reset-peer.js';
import { slicer } from './slicer.js';
import { slowClose } from './slow-close.js';
import { stallReads } from './stall-reads.js';
import { timeout } from './timeout.js';

/** Every toxic by its Toxiproxy type name. */
export const toxicDefinitions: Record<ToxicType, ToxicDefinition<AttributeSchema>> = {
  latency,
  bandwidth,
  slow_close: slowClose,
  timeout,
  reset_peer: resetPeer,
  slicer,
  limit_data: limitData,
  half_close: halfClose,
  stall_reads: stallReads,
  lifetime,
};
