import { accountBalanceProjection } from './accountBalanceProjection.js';
import { dailyOrderStatsProjection } from './dailyOrderStatsProjection.js';
import { orderListProjection } from './orderListProjection.js';

/** The shop's read models: several views built from the same order and account events. */
export const shopProjections = [orderListProjection, dailyOrderStatsProjection, accountBalanceProjection] as const;
