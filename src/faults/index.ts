// The `lifeline-net/faults` entry point: FaultProxy, its toxics, the Toxiproxy-compatible API, netns hosts.
export { type HostPort, parseAddress } from './address.js';
export { ProxyCollection, type ProxyConfig } from './collection.js';
export {
  AddressInUseError,
  InvalidProxyError,
  InvalidToxicError,
  ProxyExistsError,
  ProxyNotFoundError,
  ToxicExistsError,
  ToxicNotFoundError,
} from './errors.js';
export {
  NetemUnavailableError,
  NetnsCommandError,
  type NetnsEndpoint,
  NetnsHost,
  type NetnsHostOptions,
  NetnsUnavailableError,
  netnsSupport,
} from './netns.js';
export { type ConnectionInfo, FaultProxy, type FaultProxyOptions, type FaultProxyStats } from './proxy.js';
export { ControlServer, type ControlServerOptions } from './server.js';
export type { Stream, Toxic, ToxicPatch, ToxicSpec, ToxicTarget, ToxicType } from './toxic.js';
export { toxicDefinitions } from './toxics/index.js';
