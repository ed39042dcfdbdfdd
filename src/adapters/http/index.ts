// The `lifeline-net/http` entry point: the undici Agent, connector and node:http Agent made lifeline's.
export { DeadlineExceededError, OutcomeUnknownError } from '../../exec/errors.js';
export { Agent, type AgentOptions, fetch } from './agent.js';
export { interceptor } from './interceptor.js';
export {
  HttpAgent,
  type HttpAgentOptions,
  HttpsAgent,
  type HttpsAgentOptions,
  type NodeAgentLifelineOptions,
} from './node-agent.js';
export type { LifelineHttpOptions } from './options.js';
