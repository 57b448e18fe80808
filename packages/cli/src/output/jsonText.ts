import { stringifyWithPositions } from '@tidemark/core';
import { escapeControls } from './escapeControls.js';

/** One JSON document on one line (positions as decimal strings), with no character a terminal acts on. */
export function jsonText(value: unknown): string {
  return `${escapeControls(stringifyWithPositions(value))}\n`;
}
