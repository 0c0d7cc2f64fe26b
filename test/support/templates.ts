import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Where every test on this machine installs template dependencies: one installation per template
 * version, kept between runs (a clean machine pays each install once, then never again).
 */
export const TEST_TEMPLATE_CACHE = join(tmpdir(), "kiln-test-template-cache");

/** The words a test failure adds when an installation needs the npm registry. */
export const NEEDS_REGISTRY = "installing a template needs the npm registry (https://registry.npmjs.org) reachable from the sandbox";
