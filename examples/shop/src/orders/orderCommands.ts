/** Imperative commands to one order; each names its order so a rejection can say which. */
export type CreateOrder = { type: 'sales.order.create'; data: { orderId: string; customerId: string } };
export type AddOrderItem = { type: 'sales.order.add_item'; data: { orderId: string; sku: string; quantity: number; unitPrice: number } };
export type RemoveOrderItem = { type: 'sales.order.remove_item'; data: { orderId: string; sku: string } };
export type PlaceOrder = { type: 'sales.order.place'; data: { orderId: string } };
export type CancelOrder = { type: 'sales.order.cancel'; data: { orderId: string; reason?: string } };

export type OrderCommand = CreateOrder | AddOrderItem | RemoveOrderItem | PlaceOrder | CancelOrder;

/** One stream per order: `order-<id>`. */
export const orderStreamId = (orderId: string): string => `order-${orderId}`;
