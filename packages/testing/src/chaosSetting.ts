/**
 * A count or duration for a failure test: the CI-sized default, or `TIDEMARK_CHAOS_<NAME>` from
 * the environment, so the same test runs at full size under `npm run chaos`.
 */
export function chaosSetting(name: string, ciDefault: number): number {
  const raw = process.env[`TIDEMARK_CHAOS_${name}`];
  if (raw === undefined || raw === '') return ciDefault;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`TIDEMARK_CHAOS_${name} must be a non-negative number, not '${raw}'`);
  return value;
}
