// The undici interceptor: every request classified, retried when safe, bounded by its deadline.
import type { Dispatcher } from 'undici';
import { execAttemptChannel } from '../../core/channels.js';
import { deadlines } from '../../exec/deadlines.js';
import { callerFor } from './caller.js';
import { FastCall } from './fast.js';
import { HttpPolicy, type LifelineHttpOptions } from './options.js';
import { idempotent, originOf, RequestCall, replayable } from './request.js';

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
    const origin = policy.origin(originOf(options));
    const again = replayable(options.body);
    const safe = again && idempotent(options);
    const caller = callerFor(handler);
    // The fast path when execute() would have nothing to do per attempt: no breaker, no hedge, no tracing.
    if (origin.direct && !(safe && origin.hedged) && !execAttemptChannel.hasSubscribers) {
      new FastCall(dispatch, options, caller, origin, safe, again, deadlines.now(), policy.fresh).start();
    } else {
      new RequestCall(dispatch, options, caller, false, policy.fresh).run(origin, safe, again);
    }
    return true;
  };
}
