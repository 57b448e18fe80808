import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The browser code ships beside src/ and dist/ in the package: `ui/`, one level up from either. */
const uiDirectory = fileURLToPath(new URL('../ui/', import.meta.url));

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/**
 * Every file the page loads, read once at start-up and served from memory: the package's own
 * `ui/` and uPlot from its npm package. An allow-list by construction — a URL names one of
 * these files or is a 404, so no path ever reaches the file system. No CDN, nothing fetched
 * from elsewhere: the browser gets everything from this process.
 */
function loadAssets(): Map<string, { body: Buffer; type: string }> {
  const assets = new Map<string, { body: Buffer; type: string }>();
  const add = (name: string, path: string) => {
    const type = contentTypes[extname(path)];
    if (type) assets.set(name, { body: readFileSync(path), type });
  };
  for (const path of filesUnder(uiDirectory)) add(relative(uiDirectory, path).split(sep).join('/'), path);
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  add('vendor/uPlot.esm.js', join(uplot, 'dist', 'uPlot.esm.js'));
  add('vendor/uPlot.min.css', join(uplot, 'dist', 'uPlot.min.css'));
  return assets;
}

export function assetRoutes(app: FastifyInstance, basePath: string): void {
  const assets = loadAssets();
  const page = assets.get('index.html');
  if (!page) throw new Error(`The dashboard's index.html is missing from ${uiDirectory}`);
  // Relative URLs in the page resolve under the mount point, wherever the application put it.
  const html = page.body.toString('utf8').replace('<base href="/">', `<base href="${basePath}/">`);
  const headers = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };

  app.get('/', async (_request, reply) =>
    reply
      .headers({
        ...headers,
        // Only this process's own scripts, styles and API; no inline script, no framing.
        'content-security-policy':
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'",
      })
      .type('text/html; charset=utf-8')
      .send(html),
  );

  app.get('/assets/*', async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const asset = assets.get(name);
    if (!asset) return reply.callNotFound();
    return reply.headers(headers).type(asset.type).send(asset.body);
  });
}
