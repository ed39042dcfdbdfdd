import type { Dispatcher } from 'undici';
import { HttpPolicy, type LifelineHttpOptions } from './options.js';
import { RequestCall } from './request.js';

/**
 * An undici interceptor (`dispatcher.compose(interceptor())`) that runs each request under exec's
 * execute(): a request that failed before any byte of it was written is retried on a fresh socket; one
 * written without a response is retried only when idempotent (method, or an Idempotency-Key header) and its
 * body can be sent again, else it fails with OutcomeUnknownError; headers overdue past `deadlineMs` end it
 * with DeadlineExceededError and retire its socket. Once the response has started it is the caller's: later
 * errors are delivered as they come. Sockets are watched only when they come from lifeline's Agent.
 */
export function interceptor(options?: LifelineHttpOptions): Dispatcher.DispatcherComposeInterceptor {
  return interceptorFor(new HttpPolicy(options, 'interceptor'));
}

export function interceptorFor(policy: HttpPolicy): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (options, handler) => {
    new RequestCall(dispatch, options, handler).run(policy);
    return true;
  };
}
