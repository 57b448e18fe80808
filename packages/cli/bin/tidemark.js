#!/usr/bin/env node
// The workspace packages ship TypeScript sources (there is no build step): register tsx's
// loader for this process, then run the CLI from its source.
import { register } from 'tsx/esm/api';

register();
const { runCliProcess } = await import('../src/main.ts');
await runCliProcess();
