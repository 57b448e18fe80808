import { TidemarkError } from '@tidemark/core';

/**
 * The store's log was restored into a cluster whose transaction ids are lower than those its
 * positions were made from, and this role may not raise the position offset (rebasePositions).
 * Opening anyway would hide the whole history from readers and fail every append to an existing
 * stream, so the store refuses to open until a role that may does it.
 */
export class PositionsRebaseRequiredError extends TidemarkError {
  constructor(schema: string, cause: unknown) {
    super(
      'positions_rebase_required',
      `The store in schema '${schema}' was moved to a cluster with lower transaction ids and its positions must be rebased, which this role may not do: run \`tidemark migrate\` (or, as the store's owner, the statements of rebasePositionsSql('${schema}')) once, then open it again`,
      { schema },
      { cause },
    );
  }
}
