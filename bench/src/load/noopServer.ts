/**
 * The load generator's baseline: fastify answering every shop route with a fixed body and no
 * work — the HTTP limit of the machine for the same requests. Prints its URL on stdout.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.all('/*', async (request) => (request.url === '/projections' ? { projections: [] } : { position: 0, version: 0 }));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ msg: 'listening', url: address })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
