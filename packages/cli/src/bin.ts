#!/usr/bin/env node
// The `tidemark` executable. tsx's loader is registered first so that `--module` may name a
// TypeScript file (the user's projections), which plain node 20 cannot import; the CLI itself
// is compiled JavaScript.
import { register } from 'tsx/esm/api';

register();
const { runCliProcess } = await import('./main.js');
await runCliProcess();
