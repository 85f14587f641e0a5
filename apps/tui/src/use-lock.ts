import type { Engine } from '@oxvcs/engine';
import { type Dispatch, useCallback, useEffect } from 'react';
import type { Action } from './reducer.js';

/** Refreshes connectivity and the lock state now and every `pollMs`; returns a manual refresh. */
export function useLockStatus(
  engine: Engine,
  dispatch: Dispatch<Action>,
  pollMs: number,
): () => Promise<void> {
  const refresh = useCallback(async () => {
    try {
      const report = await engine.lockStatus();
      dispatch({ type: 'connectivity', result: report.connectivity });
      const keepAlive = report.heartbeat ? { keepAlive: report.heartbeat } : {};
      dispatch(
        report.state
          ? { type: 'lock', lock: report.state, ...keepAlive }
          : { type: 'lock', error: 'unknown (offline)', ...keepAlive },
      );
    } catch (error) {
      dispatch({ type: 'lock', error: (error as Error).message });
      // The header says what the remote is (a cached check when there is one) rather than
      // "checking…" for as long as the failure lasts; offline, the faster offline poll starts.
      const result = await engine.connectivity().catch(() => undefined);
      if (result) dispatch({ type: 'connectivity', result });
    }
  }, [engine, dispatch]);
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), pollMs);
    return () => clearInterval(timer);
  }, [refresh, pollMs]);
  return refresh;
}
