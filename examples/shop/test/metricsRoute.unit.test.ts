import { createInMemoryEventStore, createProjectionLagMonitor } from '@tidemark/core';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerMetricsRoute } from '../src/monitoring/metricsRoute.js';
import { createPrometheusMetrics } from '../src/monitoring/prometheusMetrics.js';

describe('GET /metrics', () => {
  it('measures projection lag on scrape and serves it in the Prometheus text format', async () => {
    const store = createInMemoryEventStore();
    const metrics = createPrometheusMetrics();
    let checkpoint = 0n;
    const lag = createProjectionLagMonitor({ store, metrics, projections: [{ name: 'balances', checkpoint: async () => checkpoint }] });
    const app = Fastify({ logger: false });
    registerMetricsRoute(app, { registry: metrics.registry, beforeScrape: () => lag.measure() });
    try {
      await store.appendToStream('account-1', [
        { type: 'account.deposited', data: { amount: 1 } },
        { type: 'account.deposited', data: { amount: 2 } },
      ]);
      const first = await app.inject({ method: 'GET', url: '/metrics' });
      expect(first.statusCode).toBe(200);
      expect(first.headers['content-type']).toContain('text/plain');
      expect(first.body).toContain('tidemark_projection_events_behind{projection="balances"} 2');
      checkpoint = 2n;
      const second = await app.inject({ method: 'GET', url: '/metrics' });
      expect(second.body).toContain('tidemark_projection_events_behind{projection="balances"} 0');
    } finally {
      await app.close();
    }
  });

  it('still serves the last values when the refresh fails', async () => {
    const metrics = createPrometheusMetrics();
    metrics.gauge({ name: 'shop_up', help: 'up' }).set(1);
    const app = Fastify({ logger: false });
    registerMetricsRoute(app, { registry: metrics.registry, beforeScrape: () => Promise.reject(new Error('database down')) });
    try {
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('shop_up 1');
    } finally {
      await app.close();
    }
  });
});
