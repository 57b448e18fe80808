import { escapeControls } from './escapeControls.js';

/**
 * A plain-text table for people: a header row, columns padded to their widest cell, two spaces
 * between them, the last column unpadded (it may be long: an error, a JSON value). Cells hold store
 * content, so they are escaped (escapeControls): one line each, nothing a terminal acts on.
 */
export function formatTable(header: readonly string[], body: readonly (readonly string[])[]): string {
  const rows = body.map((row) => row.map(escapeControls));
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
