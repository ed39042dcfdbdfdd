// The socket layer's public surface: LiveSocket, its options, states and errors.
export {
  ConnectFailedError,
  ConnectionResetError,
  KeepaliveTimeoutError,
  PeerClosedError,
  ReadTimeoutError,
  SocketClosedError,
  UnexpectedDataError,
  UpgradeRefusedError,
  UserTimeoutError,
  WriteStallError,
} from './errors.js';
export { LiveSocket, type LiveSocketEvents } from './live-socket.js';
export { defaultOptions, type LiveSocketConnectOptions, type LiveSocketOptions } from './options.js';
export type { OverdueHandler, ReplyOverdue } from './reply-watch.js';
export type { Death, DeathCause, LiveState } from './state.js';
export type { SocketCapabilities } from './tcp.js';
export type { ConnectTrace, DeathMessage } from './trace.js';
