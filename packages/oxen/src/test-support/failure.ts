import { expect } from 'vitest';
import { OxenError } from '../errors.js';

/** The OxenError `p` rejects with (the test fails when it resolves or rejects with anything else). */
export const failure = async (p: Promise<unknown>): Promise<OxenError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OxenError);
  return error as OxenError;
};
