/**
 * Imperative commands to one bank account. Each names its account so that a rejection can say
 * which one, even when the stream is empty and the state cannot.
 */
export type OpenAccount = {
  type: 'bank.account.open';
  /** Without a customerId the account is its own data subject (see bankAccountPersonalData.ts). */
  data: { accountId: string; owner: string; initialDeposit: number; customerId?: string; email?: string };
};
export type DepositFunds = { type: 'bank.account.deposit'; data: { accountId: string; amount: number } };
export type WithdrawFunds = { type: 'bank.account.withdraw'; data: { accountId: string; amount: number } };
export type CloseAccount = { type: 'bank.account.close'; data: { accountId: string } };

export type BankAccountCommand = OpenAccount | DepositFunds | WithdrawFunds | CloseAccount;

/** One stream per account: `account-<id>`, so the category is `account`. */
export const bankAccountStreamId = (accountId: string): string => `account-${accountId}`;
