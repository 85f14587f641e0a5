import type { Engine } from '@oxvcs/engine';
import { type Dispatch, useEffect } from 'react';
import type { Action, Row } from './reducer.js';

/**
 * Follows the queue: re-reads it (without taking its lock) whenever its stamp (the stats of the
 * snapshot and its journal) changes, checked every `pollMs`, so changes by the CLI or another
 * process show within a second.
 */
export function useQueue(
  engine: Engine,
  dispatch: Dispatch<Action>,
  pollMs: number,
  describe: (row: Row['entry']) => string,
) {
  useEffect(() => {
    let stopped = false;
    let signature = '';
    const load = async (force = false) => {
      try {
        const next = engine.queue.stamp();
        if (!force && next === signature) return;
        signature = next;
        const entries = await engine.queue.list();
        if (!stopped)
          dispatch({ type: 'rows', rows: entries.map((entry) => ({ entry, description: describe(entry) })) });
      } catch (error) {
        if (!stopped) dispatch({ type: 'load-error', message: (error as Error).message });
      }
    };
    void load(true);
    const timer = setInterval(() => void load(), pollMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [engine, dispatch, pollMs, describe]);
}
