import { randomBytes } from 'node:crypto';
import { serviceUrls } from '@tidemark/testing';
import type pg from 'pg';

/** A login role name no other run uses, and the shared server's URL as that role. */
export function uniqueRole(prefix: string): { role: string; roleUrl: string } {
  const role = `${prefix}_${randomBytes(5).toString('hex')}`;
  const url = new URL(serviceUrls.postgres);
  url.username = role;
  return { role, roleUrl: url.toString() };
}

/**
 * Creates `role` as an application role of `schema`: login, USAGE, DML on its tables, EXECUTE on
 * its functions, and the role settings an operator might give it (`ALTER ROLE … SET`).
 */
export async function createAppRole(admin: pg.Pool, role: string, schema: string, settings: Record<string, string> = {}): Promise<void> {
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  for (const [name, value] of Object.entries(settings)) await admin.query(`ALTER ROLE ${role} SET ${name} = '${value}'`);
  await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
  await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO ${role}`);
  await admin.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "${schema}" TO ${role}`);
}

/** Drops what `role` owns and was granted, then the role. */
export async function dropRole(admin: pg.Pool, role: string): Promise<void> {
  await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
  await admin.query(`DROP ROLE IF EXISTS ${role}`);
}
