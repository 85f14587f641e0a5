import { Box, Text } from 'ink';
import { fit, span } from '../format.js';
import { type State, visibleRows } from '../reducer.js';

const STATUS_COLOUR: Record<string, string> = {
  pending: 'cyan',
  running: 'blue',
  done: 'green',
  failed: 'red',
  expired: 'yellow',
  superseded: 'gray',
};

/** The queue, windowed: only the rows that fit are rendered, so thousands scroll smoothly. */
export function EntryList(props: { state: State; height: number; width: number; now: number }) {
  const { state, height, width, now } = props;
  const rows = visibleRows(state);
  const slice = rows.slice(state.offset, state.offset + height);
  const descWidth = Math.max(10, width - 2 - 11 - 9 - 7 - 5 - 6 - 12);
  return (
    <Box flexDirection="column" height={height + 1}>
      <Text dimColor>
        {fit(
          `  ${fit('STATUS', 11)}${fit('KIND', 9)}${fit('DESCRIPTION', descWidth)}${fit('AGE', 7)}${fit('PRI', 5)}${fit('TRY', 6)}NEXT`,
          width,
        )}
      </Text>
      {rows.length === 0 ? (
        <Text dimColor>
          {state.rows.length === 0 ? '  The queue is empty.' : '  No entries match the filter.'}
        </Text>
      ) : null}
      {slice.map((row, i) => {
        const index = state.offset + i;
        const selected = index === state.cursor;
        const e = row.entry;
        const live = state.progress[e.id];
        const until = live?.until ?? (e.notBefore ? Date.parse(e.notBefore) : undefined);
        const next =
          live?.phase === 'running'
            ? 'now'
            : until && until > now
              ? `in ${span(until - now)}`
              : e.status === 'pending'
                ? 'ready'
                : '';
        const status = live && live.phase !== 'done' ? live.phase : e.status;
        const kind = e.operation.kind.replace('-lock', '');
        return (
          <Text key={e.id} inverse={selected} wrap="truncate">
            {selected ? '▶ ' : '  '}
            <Text color={STATUS_COLOUR[e.status] ?? 'white'}>{fit(status, 11)}</Text>
            {fit(kind, 9)}
            {fit(row.description, descWidth)}
            {fit(span(now - Date.parse(e.enqueuedAt)), 7)}
            {fit(String(e.priority), 5)}
            {fit(`${e.attempts}/${e.maxAttempts}`, 6)}
            {fit(next, 12)}
          </Text>
        );
      })}
    </Box>
  );
}
