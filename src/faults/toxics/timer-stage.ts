import { timerMs } from '../../core/time.js';
import { BaseStage } from '../toxic.js';

/**
 * Base of the toxics that act once after a wait (half_close, stall_reads, lifetime, timeout, reset_peer,
 * slow_close): one timer, which detaching the stage cancels, so a removed toxic never fires late.
 */
export abstract class TimerStage<A> extends BaseStage<A> {
  private timer: NodeJS.Timeout | undefined;

  /** Runs `action` in `delayMs` ms, in place of anything scheduled before. */
  protected schedule(delayMs: number, action: () => void): void {
    clearTimeout(this.timer);
    // A wait past one timer's limit (validation keeps attributes within it) is served in several.
    const armed = timerMs(delayMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (armed < delayMs) this.schedule(delayMs - armed, action);
      else action();
    }, armed);
  }

  /** Whether a scheduled action has yet to run. */
  protected get scheduled(): boolean {
    return this.timer !== undefined;
  }

  protected cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  override detach(): { held: Buffer[]; ended: boolean } {
    this.cancel();
    return { held: [], ended: false };
  }
}
