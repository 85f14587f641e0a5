import { stat } from 'node:fs/promises';
import type { Engine } from '@oxvcs/engine';
import { type Dispatch, useEffect } from 'react';
import type { Action, Row } from './reducer.js';

/**
 * Follows the queue file: re-reads it (without taking its lock) whenever its size or mtime
 * changes, checked every `pollMs`, so changes by the CLI or another process show within a second.
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
        const s = await stat(engine.queue.file).catch(() => undefined);
        const next = s ? `${s.mtimeMs}:${s.size}` : 'none';
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
