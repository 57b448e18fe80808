/**
 * The shop trades in one currency. Events record it since their v2 (bank.account.opened,
 * sales.order.created), so that a second currency can come without rewriting history; the
 * v1 events, written before, are read as this one (see shopEventRegistry.ts).
 */
export const shopCurrency = 'USD';
