import { stringifyWithPositions } from '@tidemark/core';
import type { FastifyInstance } from 'fastify';
import type { HealthSampler } from './healthSampler.js';
import type { RebuildRunner } from './rebuildRunner.js';

/**
 * The health history and the live stream (server-sent events): `health` with every new sample,
 * `rebuild` with every progress report of a rebuild. Open streams are ended before the server
 * closes, so a browser left open never holds a shutdown.
 */
export function liveRoutes(app: FastifyInstance, health: HealthSampler, rebuilds: RebuildRunner): void {
  const open = new Set<() => void>();

  app.get('/api/health', async () => ({ samples: health.samples() }));

  app.get('/api/live', (request, reply) => {
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
    });
    const send = (event: string, data: unknown) => response.write(`event: ${event}\ndata: ${stringifyWithPositions(data)}\n\n`);
    // Ask the browser to reconnect after 2 s when the stream drops.
    response.write('retry: 2000\n\n');
    const unsubscribe = [health.onSample((sample) => send('health', sample)), rebuilds.onProgress((status) => send('rebuild', status))];
    const end = () => {
      for (const stop of unsubscribe) stop();
      open.delete(end);
      response.end();
    };
    open.add(end);
    request.raw.on('close', end);
  });

  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
}
