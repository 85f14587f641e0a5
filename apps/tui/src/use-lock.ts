import type { Engine } from '@oxvcs/engine';
import { type Dispatch, useCallback, useEffect } from 'react';
import type { Action } from './reducer.js';

/**
 * Refreshes connectivity and the lock state now and every `pollMs`; returns a manual refresh.
 * `monotonic` reads this machine's monotonic clock (ms): each read is kept with the server's time
 * of it, so lease times are counted on the server's clock, however far off the wall clock here is.
 */
export function useLockStatus(
  engine: Engine,
  dispatch: Dispatch<Action>,
  pollMs: number,
  monotonic: () => number,
): () => Promise<void> {
  const refresh = useCallback(async () => {
    try {
      const report = await engine.lockStatus();
      // Read as the answer arrives: its `Date` header is the server's time now.
      const mono = monotonic();
      dispatch({ type: 'connectivity', result: report.connectivity });
      const keepAlive = report.heartbeat ? { keepAlive: report.heartbeat } : {};
      // A server that sent no `Date` header: this machine's clock is all there is.
      const read = { server: report.serverNow ?? Date.now(), mono };
      dispatch(
        report.state
          ? { type: 'lock', lock: report.state, read, ...keepAlive }
          : { type: 'lock', error: 'unknown (offline)', ...keepAlive },
      );
    } catch (error) {
      dispatch({ type: 'lock', error: (error as Error).message });
      // The header says what the remote is (a cached check when there is one) rather than
      // "checking…" for as long as the failure lasts; offline, the faster offline poll starts.
      const result = await engine.connectivity().catch(() => undefined);
      if (result) dispatch({ type: 'connectivity', result });
    }
  }, [engine, dispatch, monotonic]);
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), pollMs);
    return () => clearInterval(timer);
  }, [refresh, pollMs]);
  return refresh;
}
