import { Box, Text } from 'ink';
import { fit, lockLine, span, waitingText } from '../format.js';
import type { State } from '../reducer.js';

/**
 * Project, remote, connectivity and lock state (with heartbeat health). `now`: this machine's
 * clock (when connectivity was checked); `serverNow`: the server's (what lease times are on).
 */
export function Header(props: {
  state: State;
  project: string;
  remote: string;
  width: number;
  now: number;
  serverNow: number;
}) {
  const { state, width, now, serverNow } = props;
  const conn = state.connectivity;
  const connText = conn ? `${conn.state} (checked ${span(now - conn.checkedAt)} ago)` : 'checking…';
  const connColour = conn?.state === 'online' ? 'green' : conn?.state === 'offline' ? 'red' : 'yellow';
  const hb = state.heartbeat;
  const hbText = hb
    ? hb.state === 'jeopardy'
      ? ` · heartbeat IN JEOPARDY (${hb.failures} failed)`
      : ` · heartbeat ${hb.state}`
    : '';
  const lockColour =
    state.lock?.state === 'held-by-you'
      ? 'green'
      : state.lock?.state === 'held-by-other' || state.lock?.state === 'broken'
        ? 'red'
        : undefined;
  return (
    <Box flexDirection="column">
      <Text inverse>{fit(` oxenvcs-tui · ${props.project}`, width)}</Text>
      <Text>
        {fit(`Remote: ${props.remote} · `, Math.min(width, props.remote.length + 11))}
        <Text color={connColour}>{connText}</Text>
      </Text>
      <Text
        {...(hb?.state === 'jeopardy' || hb?.state === 'lost'
          ? { color: 'yellow' }
          : lockColour
            ? { color: lockColour }
            : {})}
      >
        {fit(
          `${state.lockError ? `Lock: ${state.lockError}` : `${lockLine(state.lock, serverNow)}${waitingText(state.lock, serverNow)}`}${hbText}`,
          width,
        )}
      </Text>
    </Box>
  );
}
