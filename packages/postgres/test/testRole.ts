import { randomBytes } from 'node:crypto';
import { serviceUrls } from '@tidemark/testing';

/** A login role name no other run uses, and the shared server's URL as that role. */
export function uniqueRole(prefix: string): { role: string; roleUrl: string } {
  const role = `${prefix}_${randomBytes(5).toString('hex')}`;
  const url = new URL(serviceUrls.postgres);
  url.username = role;
  return { role, roleUrl: url.toString() };
}
