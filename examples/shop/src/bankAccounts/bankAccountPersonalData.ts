import type { PersonalDataDeclarations } from '@tidemark/core';
import type { AccountOpened } from './bankAccountEvents.js';

/**
 * The shop's personal data: an account owner's name and e-mail, whose data subject is the
 * customer. Encrypted with the customer's key on append; `DELETE /customers/:id/personal-data`
 * destroys the key. An account opened without a customer is its own data subject: forgetting
 * "customer" <accountId> erases its owner.
 */
export const shopPersonalData: PersonalDataDeclarations = {
  'bank.account.opened': { subject: (data: AccountOpened['data']) => data.customerId ?? data.accountId, fields: ['owner', 'email'] },
};
