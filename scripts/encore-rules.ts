/**
 * A static check of the Encore parser's rules (notes/encore.md §0–§4), run by our tests because the
 * Encore CLI cannot be installed here. It reads every service with the TypeScript compiler API and
 * reports each broken rule with the rule's id, the file and the line.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import type { Route } from "../lib/routes";

/** The rules this checker enforces; each violation names one. */
export type RuleId =
  | "syntax"
  | "named-imports"
  | "encore-imports"
  | "literal-options"
  | "top-level-export"
  | "handler-types"
  | "object-root"
  | "flat-query"
  | "path-syntax"
  | "path-params"
  | "duplicate-endpoint"
  | "conflicting-path"
  | "secret-top-level"
  | "service-declaration"
  | "migration-names"
  | "single-auth"
  | "file-payload-batching"
  | "cron-job"
  | "contract-drift";

/** One broken rule. */
export interface Violation {
  rule: RuleId;
  file: string;
  line: number;
  message: string;
}

/** An endpoint as Encore's parser would see it. */
export interface Endpoint {
  service: string;
  name: string;
  file: string;
  line: number;
  methods: string[];
  path: string;
  expose: boolean;
  auth: boolean;
  raw: boolean;
  /** The declared `bodyLimit` (null: unlimited); undefined when the endpoint keeps Encore's 2 MiB. */
  bodyLimit?: number | null;
  /** Whether the handler takes a request (a cron job's endpoint must not). */
  takesRequest: boolean;
}

/** A cron job as Encore's parser would see it. */
export interface CronJobDecl {
  id: string;
  service: string;
  /** The endpoint it calls (an identifier in the same file). */
  endpoint: string;
  every?: string;
  schedule?: string;
  file: string;
  line: number;
}

/** What the checker learned of an app. */
export interface AppReport {
  services: string[];
  endpoints: Endpoint[];
  violations: Violation[];
  /** Services that declare the app's auth handler (at most one). */
  authHandlers: { service: string; name: string; file: string; line: number }[];
  cronJobs: CronJobDecl[];
}

const SKIPPED_DIRS = new Set(["node_modules", "encore.gen", "__tests__", "dist"]);
const API_KEYS = { method: "method", path: "string", expose: "boolean", auth: "boolean", bodyLimit: "numberOrNull", tags: "strings", sensitive: "boolean" } as const;
const HTTP_METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "*"]);
const QUERY_METHODS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"]);
const MIGRATION_FILE = /^(\d+)_[A-Za-z0-9_-]+\.up\.sql$/;
/** Contract methods whose requests or answers carry file contents: a call must go through lib/batches.ts. */
const FILE_PAYLOAD_METHODS = new Set(["writeFiles", "readFiles"]);

type ValueKind = "string" | "boolean" | "method" | "numberOrNull" | "strings" | "reference";

function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith(".") || SKIPPED_DIRS.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listTsFiles(path));
    else if (entry.endsWith(".ts") && !/\.(test|spec)\.ts$/.test(entry) && !entry.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** Checks the Encore app rooted at `root` (the folder holding `encore.app`). */
export function checkApp(root: string): AppReport {
  const appRoot = resolve(root);
  const files = listTsFiles(appRoot);
  const serviceDirs = files.filter((f) => basename(f) === "encore.service.ts").map(dirname);
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ES2022,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    baseUrl: appRoot,
    paths: { "~encore/*": ["./encore.gen/*"] },
  });
  const checker = program.getTypeChecker();
  const report: AppReport = { services: [], endpoints: [], violations: [], authHandlers: [], cronJobs: [] };
  const serviceOf = (file: string) => {
    const owners = serviceDirs.filter((d) => file === d || file.startsWith(`${d}/`));
    return owners.sort((a, b) => b.length - a.length)[0];
  };

  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) continue;
    const serviceDir = serviceOf(file);
    new FileChecker(appRoot, source, checker, report, serviceDir).run();
  }
  checkServicesNesting(appRoot, serviceDirs, report);
  checkDuplicates(report);
  checkCronEndpoints(report);
  if (report.authHandlers.length > 1) {
    for (const h of report.authHandlers.slice(1)) {
      report.violations.push({ rule: "single-auth", file: h.file, line: h.line, message: `single-auth: a second authHandler (${h.name}); an app has exactly one` });
    }
  }
  return report;
}

function checkServicesNesting(root: string, dirs: string[], report: AppReport): void {
  for (const inner of dirs) {
    for (const outer of dirs) {
      if (inner !== outer && inner.startsWith(`${outer}/`)) {
        report.violations.push({
          rule: "service-declaration",
          file: relative(root, join(inner, "encore.service.ts")),
          line: 1,
          message: `service-declaration: service in ${relative(root, inner)} is nested inside the service in ${relative(root, outer)}`,
        });
      }
    }
  }
}

class FileChecker {
  private readonly imports = new Map<string, string>();
  private readonly file: string;

  constructor(
    private readonly root: string,
    private readonly source: ts.SourceFile,
    private readonly checker: ts.TypeChecker,
    private readonly report: AppReport,
    private readonly serviceDir: string | undefined,
  ) {
    this.file = relative(root, source.fileName);
  }

  private lineOf(node: ts.Node): number {
    return this.source.getLineAndCharacterOfPosition(node.getStart(this.source)).line + 1;
  }

  private violation(rule: RuleId, node: ts.Node, message: string): void {
    this.report.violations.push({ rule, file: this.file, line: this.lineOf(node), message: `${rule}: ${message}` });
  }

  run(): void {
    for (const diagnostic of (this.source as ts.SourceFile & { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics ?? []) {
      const { line } = this.source.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
      this.report.violations.push({ rule: "syntax", file: this.file, line: line + 1, message: `syntax: ${text} (Encore parses every .ts file under the app root)` });
    }
    this.collectImports();
    const name = basename(this.source.fileName);
    if (name === "encore.service.ts") this.checkServiceFile();
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) this.checkResourceCall(node);
      if (ts.isCallExpression(node)) this.checkFilePayload(node);
      ts.forEachChild(node, visit);
    };
    visit(this.source);
  }

  private collectImports(): void {
    for (const statement of this.source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const module = statement.moduleSpecifier.text;
      const fromEncore = module === "encore.dev" || module.startsWith("encore.dev/") || module.startsWith("~encore/");
      if (!fromEncore) continue;
      const name = basename(this.source.fileName);
      const allowed = name === "api.ts" || name.startsWith("encore");
      if (!allowed) {
        this.violation("encore-imports", statement, `${module} is imported by ${this.file}; only api.ts and encore*.ts files may import Encore (elsewhere it throws outside the Encore runtime)`);
      }
      const bindings = statement.importClause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) {
        this.violation("named-imports", statement, `namespace import of ${module}: Encore's parser only tracks named imports`);
      }
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          this.imports.set(element.name.text, `${module}:${(element.propertyName ?? element.name).text}`);
        }
      }
    }
  }

  private checkServiceFile(): void {
    const declarations = this.source.statements.filter(
      (s) => ts.isExportAssignment(s) && ts.isNewExpression(s.expression) && this.resolves(s.expression.expression, "encore.dev/service:Service"),
    ) as ts.ExportAssignment[];
    if (declarations.length !== 1 || declarations[0]!.isExportEquals) {
      this.violation("service-declaration", this.source, `${this.file} must hold exactly one \`export default new Service("name")\``);
      return;
    }
    const service = declarations[0]!.expression as ts.NewExpression;
    const nameArg = service.arguments?.[0];
    if (!nameArg || !ts.isStringLiteral(nameArg)) {
      this.violation("service-declaration", service, "the service name must be a string literal");
      return;
    }
    this.report.services.push(nameArg.text);
  }

  /** The files a call's target is declared in (through imports and mapped types such as Pick). */
  private declaredIn(expr: ts.Expression): string[] {
    let symbol = this.checker.getSymbolAtLocation(ts.isPropertyAccessExpression(expr) ? expr.name : expr);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = this.checker.getAliasedSymbol(symbol);
    return (symbol?.declarations ?? []).map((d) => d.getSourceFile().fileName);
  }

  /**
   * Under Encore a service-to-service call is HTTP with a 2 MiB body limit, so a contract call carrying
   * files (`writeFiles`, `readFiles` declared in a contract.ts) must be made inside a callback given to
   * a helper of lib/batches.ts, which keeps every call under the limit. The adapters (api.ts,
   * encore*.ts) only pass one request through and are exempt.
   */
  private checkFilePayload(node: ts.CallExpression): void {
    const name = basename(this.source.fileName);
    if (!this.serviceDir || name === "api.ts" || name.startsWith("encore")) return;
    const callee = node.expression;
    if (!ts.isPropertyAccessExpression(callee) || !FILE_PAYLOAD_METHODS.has(callee.name.text)) return;
    if (!this.declaredIn(callee).some((f) => basename(f) === "contract.ts")) return;
    for (let at: ts.Node = node; at.parent; at = at.parent) {
      const parent = at.parent;
      if (ts.isCallExpression(parent) && parent.arguments.includes(at as ts.Expression) && this.declaredIn(parent.expression).some((f) => f.endsWith("/lib/batches.ts"))) return;
    }
    this.violation("file-payload-batching", node, `${callee.getText(this.source)}(...) carries files outside lib/batches.ts: under Encore it is an HTTP call with a 2 MiB body limit; make it inside inBatches/readInBatches/readAlone`);
  }

  private resolves(expr: ts.Expression, target: string): boolean {
    return ts.isIdentifier(expr) && this.imports.get(expr.text) === target;
  }

  private checkResourceCall(node: ts.CallExpression | ts.NewExpression): void {
    const callee = node.expression;
    if (ts.isNewExpression(node)) {
      if (this.resolves(callee, "encore.dev/service:Service") && basename(this.source.fileName) !== "encore.service.ts") {
        this.violation("service-declaration", node, "new Service(...) belongs only in encore.service.ts");
      }
      if (this.resolves(callee, "encore.dev/storage/sqldb:SQLDatabase")) this.checkDatabase(node);
      if (this.resolves(callee, "encore.dev/api:Gateway")) this.checkLiteralObject(node.arguments?.[0], { authHandler: "reference" }, "Gateway");
      if (this.resolves(callee, "encore.dev/cron:CronJob")) this.checkCronJob(node);
      return;
    }
    if (this.resolves(callee, "encore.dev/config:secret")) return this.checkSecret(node);
    if (this.resolves(callee, "encore.dev/auth:authHandler")) return this.checkAuthHandler(node);
    if (ts.isIdentifier(callee) && this.resolves(callee, "encore.dev/api:api")) return this.checkEndpoint(node, false);
    if (ts.isPropertyAccessExpression(callee) && this.resolves(callee.expression, "encore.dev/api:api") && callee.name.text === "raw") {
      return this.checkEndpoint(node, true);
    }
  }

  private topLevelConstName(node: ts.Node): { name: string; exported: boolean } | undefined {
    const declaration = node.parent;
    if (!declaration || !ts.isVariableDeclaration(declaration) || declaration.initializer !== node || !ts.isIdentifier(declaration.name)) return undefined;
    const list = declaration.parent;
    if (!ts.isVariableDeclarationList(list) || !(list.flags & ts.NodeFlags.Const)) return undefined;
    const statement = list.parent;
    if (!ts.isVariableStatement(statement) || statement.parent !== this.source) return undefined;
    const exported = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
    return { name: declaration.name.text, exported };
  }

  private checkSecret(node: ts.CallExpression): void {
    if (!this.topLevelConstName(node)) this.violation("secret-top-level", node, "secret() must initialise a top-level const (it cannot be called inside a function)");
    if (!this.serviceDir) this.violation("secret-top-level", node, "secret() must be used inside a service folder");
    const name = node.arguments[0];
    if (!name || !ts.isStringLiteral(name)) this.violation("secret-top-level", node, "the secret's name must be a string literal");
  }

  /** `new CronJob("id", { title, every | schedule, endpoint })` (notes/encore.md §5, checklist 15–16). */
  private checkCronJob(node: ts.NewExpression): void {
    const [id, options] = node.arguments ?? [];
    if (!id || !ts.isStringLiteral(id)) {
      this.violation("cron-job", node, "the cron job's ID must be a string literal");
      return;
    }
    const values = this.checkLiteralObject(options, { title: "string", every: "string", schedule: "string", endpoint: "reference" }, "CronJob");
    const every = values.get("every") as string | undefined;
    const schedule = values.get("schedule") as string | undefined;
    const problem =
      (every === undefined) === (schedule === undefined)
        ? "set exactly one of every and schedule"
        : every !== undefined
          ? everyProblem(every)
          : schedule!.trim().split(/\s+/).length !== 5
            ? `schedule ${JSON.stringify(schedule)} is not a 5-field cron expression`
            : undefined;
    if (problem) this.violation("cron-job", node, `cron job ${id.text}: ${problem}`);
    const endpoint = values.get("endpoint") as string | undefined;
    if (!endpoint) {
      this.violation("cron-job", node, `cron job ${id.text}: endpoint must name an api endpoint`);
      return;
    }
    this.report.cronJobs.push({ id: id.text, service: this.serviceName(), endpoint, every, schedule, file: this.file, line: this.lineOf(node) });
  }

  private checkAuthHandler(node: ts.CallExpression): void {
    const binding = this.topLevelConstName(node);
    if (!binding?.exported) {
      this.violation("top-level-export", node, "authHandler(...) must be bound to an exported top-level const");
      return;
    }
    this.report.authHandlers.push({ service: this.serviceName(), name: binding.name, file: this.file, line: this.lineOf(node) });
  }

  private serviceName(): string {
    return this.serviceDir ? basename(this.serviceDir) : "";
  }

  private checkDatabase(node: ts.NewExpression): void {
    const [name, options] = node.arguments ?? [];
    if (!name || !ts.isStringLiteral(name)) this.violation("literal-options", node, "the database name must be a string literal");
    const values = this.checkLiteralObject(options, { migrations: "string" }, "SQLDatabase");
    const migrations = values.get("migrations");
    if (typeof migrations !== "string") return;
    const dir = resolve(dirname(this.source.fileName), migrations);
    if (!existsSync(dir)) {
      this.violation("migration-names", node, `migrations directory ${relative(this.root, dir)} does not exist`);
      return;
    }
    const seen = new Map<string, string>();
    for (const entry of readdirSync(dir)) {
      if (!entry.endsWith(".sql")) continue;
      const match = MIGRATION_FILE.exec(entry);
      if (!match) {
        this.violation("migration-names", node, `${relative(this.root, join(dir, entry))} is not named N_name.up.sql`);
        continue;
      }
      const number = String(Number(match[1]));
      const clash = seen.get(number);
      if (clash) this.violation("migration-names", node, `migration number ${number} is used twice (${clash} and ${entry})`);
      seen.set(number, entry);
    }
  }

  /** Checks an options argument against Encore's literal rules; returns the literal values it read. */
  private checkLiteralObject(arg: ts.Expression | undefined, keys: Record<string, ValueKind>, what: string): Map<string, unknown> {
    const values = new Map<string, unknown>();
    if (!arg) return values;
    if (!ts.isObjectLiteralExpression(arg)) {
      this.violation("literal-options", arg, `the options of ${what} must be an object literal`);
      return values;
    }
    for (const property of arg.properties) {
      if (ts.isSpreadAssignment(property)) {
        this.violation("literal-options", property, `spread in the options of ${what} is not supported`);
        continue;
      }
      if (!ts.isPropertyAssignment(property) || !(ts.isIdentifier(property.name) || ts.isStringLiteral(property.name))) {
        this.violation("literal-options", property, `options of ${what} must be plain \`key: value\` properties (no shorthand, methods or computed keys)`);
        continue;
      }
      const key = property.name.text;
      const kind = keys[key];
      if (!kind) {
        this.violation("literal-options", property, `unexpected field ${JSON.stringify(key)} in the options of ${what}`);
        continue;
      }
      if (values.has(key)) this.violation("literal-options", property, `field ${JSON.stringify(key)} set twice`);
      const value = this.literalValue(property.initializer, kind);
      if (value === INVALID) this.violation("literal-options", property.initializer, `${key} must be ${describeKind(kind)}`);
      else values.set(key, value);
    }
    return values;
  }

  private literalValue(expr: ts.Expression, kind: ValueKind): unknown {
    switch (kind) {
      case "reference":
        return ts.isIdentifier(expr) ? expr.text : INVALID;
      case "string":
        return ts.isStringLiteral(expr) ? expr.text : INVALID;
      case "boolean":
        return expr.kind === ts.SyntaxKind.TrueKeyword ? true : expr.kind === ts.SyntaxKind.FalseKeyword ? false : INVALID;
      case "numberOrNull":
        if (expr.kind === ts.SyntaxKind.NullKeyword) return null;
        return numericLiteral(expr) ?? INVALID;
      case "strings":
        return ts.isArrayLiteralExpression(expr) && expr.elements.every(ts.isStringLiteral)
          ? expr.elements.map((e) => (e as ts.StringLiteral).text)
          : INVALID;
      case "method": {
        const list = ts.isStringLiteral(expr)
          ? [expr.text]
          : ts.isArrayLiteralExpression(expr) && expr.elements.every(ts.isStringLiteral)
            ? expr.elements.map((e) => (e as ts.StringLiteral).text)
            : undefined;
        if (!list || list.length === 0 || !list.every((m) => HTTP_METHODS.has(m))) return INVALID;
        if (list.includes("*") && list.length > 1) return INVALID;
        return list;
      }
    }
  }

  private checkEndpoint(node: ts.CallExpression, raw: boolean): void {
    const binding = this.topLevelConstName(node);
    if (!binding?.exported) {
      this.violation("top-level-export", node, "an endpoint must be `export const name = api(...)` at the top level of its file");
    }
    const options = this.checkLiteralObject(node.arguments[0], API_KEYS, raw ? "api.raw" : "api");
    const methods = (options.get("method") as string[] | undefined) ?? ["POST"];
    const name = binding?.name ?? "(unbound)";
    const path = (options.get("path") as string | undefined) ?? `/${this.serviceName()}.${name}`;
    this.checkPathSyntax(node, path);
    const endpoint: Endpoint = {
      service: this.serviceName(),
      name,
      file: this.file,
      line: this.lineOf(node),
      methods,
      path,
      expose: (options.get("expose") as boolean | undefined) ?? false,
      auth: (options.get("auth") as boolean | undefined) ?? false,
      raw,
      ...(options.has("bodyLimit") ? { bodyLimit: options.get("bodyLimit") as number | null } : {}),
      takesRequest: takesRequest(node, raw),
    };
    this.report.endpoints.push(endpoint);
    if (!raw) this.checkHandler(node, endpoint);
  }

  private checkPathSyntax(node: ts.Node, path: string): void {
    const problems: string[] = [];
    if (!path.startsWith("/")) problems.push("must start with /");
    if (/[?#]/.test(path) || /^[a-z]+:\/\//i.test(path)) problems.push("must not hold a query, fragment, scheme or host");
    if (path.includes("//")) problems.push("must not have empty segments");
    if (path.length > 1 && path.endsWith("/")) problems.push("must not end with /");
    const segments = path.split("/").slice(1);
    segments.forEach((segment, i) => {
      if (/^[*!]/.test(segment) && i !== segments.length - 1) problems.push(`${segment} must be the last segment`);
      if (/^[:*!]/.test(segment) && !/^[:*!][A-Za-z_][A-Za-z0-9_]*$/.test(segment)) problems.push(`bad parameter segment ${segment}`);
    });
    for (const problem of problems) this.violation("path-syntax", node, `path ${JSON.stringify(path)} ${problem}`);
  }

  private checkHandler(node: ts.CallExpression, endpoint: Endpoint): void {
    const handler = node.arguments[1];
    const typeArgs = node.typeArguments;
    let requestNode: ts.TypeNode | undefined = typeArgs?.[0];
    let responseNode: ts.TypeNode | undefined = typeArgs?.[1];
    if (!handler || !(ts.isArrowFunction(handler) || ts.isFunctionExpression(handler))) {
      if (!typeArgs) {
        this.violation("handler-types", node, `${endpoint.name}: the handler must be an inline function (or give api<Req, Resp> type arguments)`);
        return;
      }
    } else {
      if (handler.typeParameters?.length) this.violation("handler-types", handler, `${endpoint.name}: endpoint handler cannot have type parameters`);
      const param = handler.parameters[0];
      if (!requestNode && param) {
        if (!param.type) this.violation("handler-types", param, `${endpoint.name}: annotate the request parameter's type`);
        requestNode = param.type;
      }
      if (!responseNode) {
        const returnType = handler.type;
        if (!returnType || !ts.isTypeReferenceNode(returnType) || returnType.typeName.getText(this.source) !== "Promise" || !returnType.typeArguments?.[0]) {
          this.violation("handler-types", handler, `${endpoint.name}: annotate the return type as Promise<Response> or Promise<void>`);
        } else {
          responseNode = returnType.typeArguments[0];
        }
      }
    }
    const params = endpoint.path.split("/").filter((s) => /^[:*!]/.test(s)).map((s) => s.slice(1));
    if (!requestNode) {
      if (params.length > 0) this.violation("path-params", node, `${endpoint.name}: request schema must be defined when the path has parameters`);
    } else {
      this.checkRequest(requestNode, endpoint, params);
    }
    if (responseNode) this.checkRoot(responseNode, endpoint, "response");
  }

  private checkRoot(node: ts.TypeNode, endpoint: Endpoint, what: string): ts.Type | undefined {
    const type = this.checker.getTypeFromTypeNode(node);
    if (type.flags & ts.TypeFlags.Void) return undefined;
    const problem = rootProblem(type, this.checker);
    if (problem) {
      this.violation("object-root", node, `${endpoint.name}: the ${what} type must be an object or interface, not ${problem}`);
      return undefined;
    }
    return type;
  }

  private checkRequest(node: ts.TypeNode, endpoint: Endpoint, params: string[]): void {
    const type = this.checkRoot(node, endpoint, "request");
    if (!type) {
      if (params.length > 0) this.violation("path-params", node, `${endpoint.name}: request schema must be defined when the path has parameters`);
      return;
    }
    const query = endpoint.methods.some((m) => QUERY_METHODS.has(m));
    for (const param of params) {
      const property = type.getProperty(param);
      if (!property) {
        this.violation("path-params", node, `${endpoint.name}: path parameter ${param} not found in request schema`);
        continue;
      }
      const fieldType = this.checker.getNonNullableType(this.checker.getTypeOfSymbol(property));
      const plain = ts.TypeFlags.String | ts.TypeFlags.Number | ts.TypeFlags.Boolean | ts.TypeFlags.BigInt;
      if (!(fieldType.flags & plain)) {
        this.violation("path-params", node, `${endpoint.name}: unsupported path parameter type ${this.checker.typeToString(fieldType)} for ${param} (use string, number, boolean or bigint)`);
      }
    }
    if (!query) return;
    for (const property of type.getProperties()) {
      if (params.includes(property.name)) continue;
      const fieldType = this.checker.getNonNullableType(this.checker.getTypeOfSymbol(property));
      if (!isQueryType(fieldType, this.checker)) {
        this.violation("flat-query", node, `${endpoint.name}: field ${property.name} of type ${this.checker.typeToString(fieldType)} is not supported for query parameters (GET/DELETE requests must be flat)`);
      }
    }
  }
}

const INVALID = Symbol("invalid");

/** Whether an endpoint's handler takes a request: a first parameter, or a request type argument; raw ones always do. */
function takesRequest(node: ts.CallExpression, raw: boolean): boolean {
  if (raw) return true;
  const handler = node.arguments[1];
  if (node.typeArguments?.[0]) return !(node.typeArguments[0].kind === ts.SyntaxKind.VoidKeyword);
  return !!handler && (ts.isArrowFunction(handler) || ts.isFunctionExpression(handler)) ? handler.parameters.length > 0 : true;
}

/** What is wrong with a cron job's `every`: Encore takes whole minutes up to 24h, and the docs ask that they divide 24h. */
function everyProblem(every: string): string | undefined {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(every);
  const minutes = match && (match[1] || match[2]) ? Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0) : NaN;
  if (!(minutes >= 1)) return `every ${JSON.stringify(every)} is not a duration of whole minutes such as "10m" or "1h"`;
  if (minutes > 24 * 60) return `every ${JSON.stringify(every)} is longer than 24h`;
  if ((24 * 60) % minutes !== 0) return `every ${JSON.stringify(every)} does not divide 24h evenly`;
  return undefined;
}

/** Each cron job calls an endpoint of its own file that takes no request; cron IDs are unique app-wide. */
function checkCronEndpoints(report: AppReport): void {
  const seen = new Map<string, CronJobDecl>();
  for (const job of report.cronJobs) {
    const clash = seen.get(job.id);
    if (clash) {
      report.violations.push({ rule: "cron-job", file: job.file, line: job.line, message: `cron-job: cron job ID ${job.id} is used twice (also ${clash.file}:${clash.line})` });
    }
    seen.set(job.id, job);
    const endpoint = report.endpoints.find((e) => e.file === job.file && e.name === job.endpoint);
    if (!endpoint) {
      report.violations.push({ rule: "cron-job", file: job.file, line: job.line, message: `cron-job: cron job ${job.id} calls ${job.endpoint}, which is not an api endpoint of ${job.file}` });
    } else if (endpoint.takesRequest) {
      report.violations.push({ rule: "cron-job", file: job.file, line: job.line, message: `cron-job: cron job ${job.id} calls ${job.endpoint}, which takes a request: a cron job's endpoint takes no params` });
    }
  }
}

function describeKind(kind: ValueKind): string {
  return {
    string: "a plain string literal (no template literals, constants, `as const` or imported values)",
    boolean: "the literal true or false",
    method: 'an upper-case HTTP method literal ("GET", ...) or an array of them',
    numberOrNull: "an integer literal or null",
    strings: "an array of string literals",
    reference: "an identifier",
  }[kind];
}

function numericLiteral(expr: ts.Expression): number | undefined {
  if (ts.isNumericLiteral(expr)) return Number(expr.text);
  if (ts.isParenthesizedExpression(expr)) return numericLiteral(expr.expression);
  if (ts.isBinaryExpression(expr)) {
    const left = numericLiteral(expr.left);
    const right = numericLiteral(expr.right);
    if (left === undefined || right === undefined) return undefined;
    switch (expr.operatorToken.kind) {
      case ts.SyntaxKind.PlusToken: return left + right;
      case ts.SyntaxKind.MinusToken: return left - right;
      case ts.SyntaxKind.AsteriskToken: return left * right;
      case ts.SyntaxKind.SlashToken: return left / right;
      case ts.SyntaxKind.PercentToken: return left % right;
    }
  }
  return undefined;
}

function rootProblem(type: ts.Type, checker: ts.TypeChecker): string | undefined {
  if (type.isUnion()) return `a union (${checker.typeToString(type)})`;
  if (checker.isArrayType(type) || checker.isTupleType(type)) return `an array (${checker.typeToString(type)})`;
  if (!(type.flags & ts.TypeFlags.Object) && !type.isIntersection()) return `a primitive (${checker.typeToString(type)})`;
  if (type.getProperties().length === 0 && (checker.getIndexInfosOfType(type).length > 0)) return `a Record or index signature (${checker.typeToString(type)})`;
  return undefined;
}

function isQueryType(type: ts.Type, checker: ts.TypeChecker): boolean {
  const basic = ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.BigIntLike | ts.TypeFlags.EnumLike;
  if (type.flags & basic) return true;
  if (type.isUnion()) return type.types.every((t) => isQueryType(t, checker));
  if (checker.isArrayType(type)) {
    const element = checker.getTypeArguments(type as ts.TypeReference)[0];
    return element !== undefined && !!(element.flags & basic || (element.isUnion() && element.types.every((t) => t.flags & basic)));
  }
  return false;
}

function normalise(path: string): string[] {
  return path.split("/").slice(1).map((s) => (/^[:*!]/.test(s) ? s[0]! : s));
}

function checkDuplicates(report: AppReport): void {
  const byService = new Map<string, Endpoint[]>();
  for (const e of report.endpoints) byService.set(e.service, [...(byService.get(e.service) ?? []), e]);
  for (const [service, endpoints] of byService) {
    const names = new Map<string, Endpoint>();
    const routes = new Map<string, Endpoint>();
    for (const e of endpoints) {
      const earlier = names.get(e.name);
      if (earlier) {
        report.violations.push({ rule: "duplicate-endpoint", file: e.file, line: e.line, message: `duplicate-endpoint: api endpoints with conflicting names defined within the same service (${service}.${e.name}, also in ${earlier.file}:${earlier.line})` });
      }
      names.set(e.name, e);
      for (const method of e.methods) {
        const key = `${method} /${normalise(e.path).join("/")}`;
        const clash = routes.get(key);
        if (clash) {
          report.violations.push({ rule: "conflicting-path", file: e.file, line: e.line, message: `conflicting-path: api endpoints with conflicting paths defined (${method} ${e.path} and ${clash.path} in ${service})` });
        }
        routes.set(key, e);
      }
    }
  }
  // Encore merges every service's routes into one router: the same position must use the same parameter name.
  const paramAt = new Map<string, { name: string; endpoint: Endpoint }>();
  for (const e of report.endpoints) {
    const segments = e.path.split("/").slice(1);
    segments.forEach((segment, i) => {
      if (!/^[:*!]/.test(segment)) return;
      const prefix = normalise(e.path).slice(0, i).join("/");
      const key = `${prefix}#${i}`;
      const known = paramAt.get(key);
      if (known && known.name !== segment) {
        report.violations.push({ rule: "conflicting-path", file: e.file, line: e.line, message: `conflicting-path: ${e.path} uses ${segment} where ${known.endpoint.path} (${known.endpoint.service}.${known.endpoint.name}) uses ${known.name}; use the same parameter name at the same position` });
      } else if (!known) {
        paramAt.set(key, { name: segment, endpoint: e });
      }
    });
  }
}

/**
 * Compares the endpoints found in api.ts files with the contracts' route tables: each route has
 * exactly one endpoint of the same name, method, path, exposure, auth and kind, and no endpoint exists
 * outside a contract.
 */
export function checkDrift(report: AppReport, tables: Record<string, Record<string, Route>>): Violation[] {
  const violations: Violation[] = [];
  for (const [service, routes] of Object.entries(tables)) {
    const endpoints = report.endpoints.filter((e) => e.service === service);
    for (const [name, route] of Object.entries(routes)) {
      const endpoint = endpoints.find((e) => e.name === name);
      if (!endpoint) {
        violations.push({ rule: "contract-drift", file: `${service}/api.ts`, line: 1, message: `contract-drift: ${service}.${name} is in the contract but has no endpoint in ${service}/api.ts` });
        continue;
      }
      const differences: string[] = [];
      if (endpoint.methods.length !== 1 || endpoint.methods[0] !== route.method) differences.push(`method ${endpoint.methods.join(",")} ≠ ${route.method}`);
      if (endpoint.path !== route.path) differences.push(`path ${endpoint.path} ≠ ${route.path}`);
      if (endpoint.expose !== route.expose) differences.push(`expose ${endpoint.expose} ≠ ${route.expose}`);
      if (endpoint.auth !== route.auth) differences.push(`auth ${endpoint.auth} ≠ ${route.auth}`);
      if (endpoint.bodyLimit !== route.bodyLimit) differences.push(`bodyLimit ${endpoint.bodyLimit === undefined ? "default" : endpoint.bodyLimit} ≠ ${route.bodyLimit ?? "default"}`);
      if (endpoint.raw !== (route.raw === true)) differences.push(endpoint.raw ? "api.raw but the contract route is typed" : "typed api but the contract route is raw");
      if (differences.length > 0) {
        violations.push({ rule: "contract-drift", file: endpoint.file, line: endpoint.line, message: `contract-drift: ${service}.${name} differs from its contract route: ${differences.join("; ")}` });
      }
    }
    for (const endpoint of endpoints) {
      if (!Object.hasOwn(routes, endpoint.name)) {
        violations.push({ rule: "contract-drift", file: endpoint.file, line: endpoint.line, message: `contract-drift: endpoint ${service}.${endpoint.name} is not in the ${service} contract` });
      }
    }
  }
  return violations;
}
