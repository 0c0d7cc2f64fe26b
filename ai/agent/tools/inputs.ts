import { AppError } from "../../../lib/errors";
import { safeRelativePath, type SafePathOptions } from "../../../lib/paths";
import { ToolInputError } from "../tool";

/**
 * The path a tool was given in `field`, through the one path gate (lib/paths.ts) and normalised, before
 * any sandbox call or command sees it; an absent one is the project root where `allowRoot` is set. A
 * refusal becomes a ToolInputError naming the field and the path.
 */
export function toolPath(input: Record<string, unknown>, field: string, options: SafePathOptions = {}): string {
  const value = input[field] ?? (options.allowRoot ? "" : undefined);
  try {
    return safeRelativePath(field, value, options);
  } catch (err) {
    throw err instanceof AppError && err.code === "invalid_argument" ? new ToolInputError(err.message) : err;
  }
}
