import { type Engine, loadTake } from '@oxvcs/engine';
import { type Dispatch, useEffect } from 'react';
import { queueErrorText } from './queue-words.js';
import type { Action, Row, TakeOnRemote } from './reducer.js';

/** A push tried before (it did not finish) of a project whose head is a recorded take. */
function takeOf(entry: Row['entry']): TakeOnRemote | undefined {
  const op = entry.operation;
  if (op.kind !== 'push' || entry.status === 'done' || !(entry.verifyFirst || entry.attempts > 0))
    return undefined;
  const take = loadTake(op.projectDir, op.branch);
  if (!take || take.pushed) return undefined;
  const on = take.onRemote;
  return {
    parts: take.parts.length,
    bytes: take.parts.reduce((n, p) => n + p.bytes, 0),
    ...(on ? { partsOnRemote: on.parts, bytesOnRemote: on.bytes } : {}),
  };
}

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
          dispatch({
            type: 'rows',
            rows: entries.map((entry) => {
              const take = takeOf(entry);
              return { entry, description: describe(entry), ...(take ? { take } : {}) };
            }),
          });
      } catch (error) {
        if (!stopped)
          dispatch({ type: 'load-error', message: queueErrorText(error) ?? (error as Error).message });
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
