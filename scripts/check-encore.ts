/** Prints every Encore rule the app breaks (see scripts/encore-rules.ts); exits 1 when there is one. */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CONTRACT_ROUTES } from "../server/contracts";
import { checkApp, checkDrift } from "./encore-rules";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const report = checkApp(root);
const violations = [...report.violations, ...checkDrift(report, CONTRACT_ROUTES)];
for (const v of violations) process.stdout.write(`${v.file}:${v.line} ${v.message}\n`);
process.stdout.write(`${report.services.length} services, ${report.endpoints.length} endpoints, ${violations.length} violations\n`);
process.exit(violations.length > 0 ? 1 : 0);
