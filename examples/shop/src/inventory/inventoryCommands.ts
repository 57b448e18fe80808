/** Imperative commands to one inventory item (one SKU). */
export type ReceiveStock = { type: 'inventory.item.receive'; data: { sku: string; quantity: number } };
export type ReserveStock = { type: 'inventory.item.reserve'; data: { sku: string; orderId: string; quantity: number } };
export type ReleaseReservation = { type: 'inventory.item.release'; data: { sku: string; orderId: string } };

export type InventoryCommand = ReceiveStock | ReserveStock | ReleaseReservation;

/** One stream per SKU: `inventory-<sku>`. */
export const inventoryStreamId = (sku: string): string => `inventory-${sku}`;
