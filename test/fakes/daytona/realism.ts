/**
 * The behaviours of real Daytona (notes/daytona-real.md) the fake reproduces, one knob each. The
 * defaults are the real service's: a test turns a knob off only to show what a polite fake would hide.
 */
export interface FakeRealism {
  /** A create whose sandbox fails answers 400 "Sandbox failed to start: <reason>" (the sandbox stays, in error); off: 200, then `error` on a poll. */
  failedStartIs400: boolean;
  /** GETs a deleted sandbox still answers 200 `destroying` before 404 (0: gone at once). */
  destroyingPolls: number;
  /** A start, stop or delete while a state change is in progress (or a second delete) answers 409 StateChangeInProgress. */
  conflicts: boolean;
  /** List calls that still show a just-deleted sandbox as `started` (0: never). */
  staleListReads: number;
  /** GETs an archived sandbox answers `restoring` after its start, before `started`. */
  restorePolls: number;
  /** GETs auto-stop spends with state `started` but desiredState `stopped`, then as many `stopping`. */
  autoStopPolls: number;
  /** Every start issues a new standard preview token (the old one stops working). */
  newPreviewTokenPerStart: boolean;
  /** The preview proxy answers with its own pages: 401 without the preview token, 400 for a stopped sandbox, 502 with nothing on the port. */
  proxyPages: boolean;
  /** Browsers (by User-Agent) get Daytona's warning page unless they send `X-Daytona-Skip-Preview-Warning: true` or accepted it. */
  previewWarning: boolean;
  /** Session command logs put `\x01\x01\x01` (stdout) or `\x02\x02\x02` (stderr) before every line of `output`. */
  logMarkers: boolean;
  /** A downloaded part whose path is not ASCII names it only as `filename*=utf-8''…` (as Go's mime package writes it). */
  extendedFilenames: boolean;
  /** A bulk upload writes every file it can and reports the rest (400 `{errors, files}`); off: one local write for the batch, which stops at the first failure. */
  partialUploads: boolean;
  /** `process/execute` with a cwd that does not exist answers 200 with exitCode -1; off: 400. */
  missingCwdExitsMinusOne: boolean;
  /** Milliseconds a new snapshot stays `pending` (waiting for a runner) before it builds; real Daytona takes seconds to minutes. */
  snapshotPendingMs: number;
  /** GETs that see a snapshot `building` before its build's outcome shows (real builds take minutes, so a poller sees them build and streams their log). */
  snapshotBuildingPolls: number;
  /** GETs a deleted snapshot still answers `removing` before 404 (a create of its name answers 409 meanwhile); 0: gone at once. */
  snapshotRemovingPolls: number;
  /** Milliseconds that stand for one minute of `autoStopInterval`: idle sandboxes auto-stop; undefined: never. */
  autoStopMsPerMinute?: number;
}

/** What real Daytona does: every knob on. */
export const REALISTIC: FakeRealism = {
  failedStartIs400: true,
  destroyingPolls: 2,
  conflicts: true,
  staleListReads: 2,
  restorePolls: 4,
  autoStopPolls: 2,
  newPreviewTokenPerStart: true,
  proxyPages: true,
  previewWarning: true,
  logMarkers: true,
  extendedFilenames: true,
  partialUploads: true,
  missingCwdExitsMinusOne: true,
  snapshotPendingMs: 300,
  snapshotBuildingPolls: 1,
  snapshotRemovingPolls: 2,
};
