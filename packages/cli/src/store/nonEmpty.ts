import { InvalidArgumentError } from 'commander';

/**
 * A commander parser for a text argument or option: '' (an unset shell variable, a stray pair of
 * quotes) names no file, URL, stream or projection, so it is a bad argument (exit code 2), not a
 * value to look for in the store.
 */
export function nonEmpty(value: string): string {
  if (value === '') throw new InvalidArgumentError('must not be empty');
  return value;
}
