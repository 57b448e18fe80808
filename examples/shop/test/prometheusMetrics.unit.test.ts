import { createInMemoryEventStore, createLagProbe, createProjectionLagMonitor } from '@tidemark/core';
import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../src/monitoring/prometheusMetrics.js';

describe('Metrics port on prom-client', () => {
  it('exposes projection lag and replication lag in the Prometheus text format', async () => {
    const store = createInMemoryEventStore();
    for (let i = 0; i < 3; i++) await store.appendToStream(`account-${i}`, [{ type: 'account.deposited', data: { amount: 1 } }]);
    const metrics = createPrometheusMetrics();
    let checkpoint = 1n;
    const monitor = createProjectionLagMonitor({ store, metrics, projections: [{ name: 'balances', checkpoint: async () => checkpoint }] });
    // A second monitor over the same registry must reuse the metrics, not throw on re-registration.
    createProjectionLagMonitor({ store, metrics, projections: [] });
    await monitor.measure();
    let text = await metrics.registry.metrics();
    expect(text).toContain('tidemark_projection_events_behind{projection="balances"} 2');
    expect(text).toContain('tidemark_projection_checkpoint_position{projection="balances"} 1');
    checkpoint = 3n;
    await monitor.measure();
    text = await metrics.registry.metrics();
    expect(text).toContain('tidemark_projection_events_behind{projection="balances"} 0');
    expect(text).toContain('tidemark_projection_lag_seconds{projection="balances"} 0');

    const probe = createLagProbe({ store, metrics, readModels: [{ name: 'balances', shows: async () => true }] });
    await probe.probe();
    expect(await metrics.registry.metrics()).toMatch(/tidemark_replication_lag_seconds\{read_model="balances"\} \d/);
    metrics.counter({ name: 'shop_orders_total', help: 'orders placed', labelNames: ['status'] }).inc({ status: 'placed' }, 2);
    metrics.histogram({ name: 'shop_latency_seconds', help: 'latency', buckets: [0.1, 1] }).observe(0.5);
    text = await metrics.registry.metrics();
    expect(text).toContain('shop_orders_total{status="placed"} 2');
    expect(text).toContain('shop_latency_seconds_bucket{le="1"} 1');
  });
});
