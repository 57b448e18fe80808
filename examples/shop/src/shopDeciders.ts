import type { DashboardDecider } from '@tidemark/dashboard';
import { bankAccountDecider } from './bankAccounts/bankAccountDecider.js';
import { inventoryDecider } from './inventory/inventoryDecider.js';
import { orderDecider } from './orders/orderDecider.js';

/** The shop's deciders by stream category: the dashboard folds a stream's state with them. */
export const shopDeciders: readonly DashboardDecider[] = [
  { category: 'account', evolver: bankAccountDecider as DashboardDecider['evolver'] },
  { category: 'order', evolver: orderDecider as DashboardDecider['evolver'] },
  { category: 'inventory', evolver: inventoryDecider as DashboardDecider['evolver'] },
];
