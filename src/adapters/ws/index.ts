// The WebSocket adapter's entry point: ws sockets watched for death.
export { HeartbeatTimeoutError } from './errors.js';
export { type HeartbeatOptions, heartbeatDefaults, type WatchOptions } from './options.js';
export { type ConnectionInfo, LiveConnections, watchServer } from './server.js';
export {
  type CloseReason,
  WatchedWebSocket,
  type WatchedWebSocketEvents,
  type WsState,
  watch,
} from './watch.js';
