import { InvalidArgumentError } from 'commander';

/** A commander argument parser for whole numbers ≥ `min`: '1e3', '-1', '2.5' and '' are refused as bad arguments. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min) {
      throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
    }
    return parsed;
  };
}
