import { shopEventStages } from '../shopEventStages.js';
import { accountBalanceProjection } from './accountBalanceProjection.js';
import { dailyOrderStatsProjection } from './dailyOrderStatsProjection.js';
import { orderListProjection } from './orderListProjection.js';

/** The shop's read models: several views built from the same order and account events. */
export const shopProjections = [orderListProjection, dailyOrderStatsProjection, accountBalanceProjection] as const;

/**
 * The shop store's event stages (upcasting, then decryption of the owners' personal data), for
 * `tidemark projections rebuild|retry --module` on this file: the CLI opens the store with them,
 * so a rebuilt read model holds what the shop's own projectors write, not the stored ciphertext.
 */
export const stages = shopEventStages;
