/**
 * A structural validator for OpenAPI 3.0 documents: the rules of the specification that a
 * generated document can get wrong. Returns the problems found, each naming where (a JSON
 * pointer); none means valid.
 *
 * Checked: the `openapi` version and `info`; paths start with `/` and each `{template}` has a
 * required path parameter (and no path parameter lacks its template); operations sit under HTTP
 * methods, have unique operationIds and at least one response, keyed by a status code, a range
 * (`4XX`) or `default`, each with a description; parameters have `in` (path, query, header,
 * cookie), `name` and a `schema` or `content`, without duplicates; request bodies have content
 * with schemas; security requirements name declared schemes; security schemes are well formed;
 * tags used are declared; Schema Objects use 3.0's types (no `null` type, no type lists, no
 * `const`), arrays have `items`; every `$ref` resolves inside the document.
 */
type Node = Record<string, any>;

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const PATH_ITEM_KEYS = new Set([...METHODS, 'summary', 'description', 'servers', 'parameters', '$ref']);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object']);
const PARAM_IN = new Set(['path', 'query', 'header', 'cookie']);

export function validateOpenApi(doc: Node): string[] {
  const problems: string[] = [];
  const fail = (where: string, what: string) => problems.push(`${where}: ${what}`);

  if (typeof doc.openapi !== 'string' || !/^3\.0\.\d+$/.test(doc.openapi)) fail('/openapi', `must be 3.0.x, not ${JSON.stringify(doc.openapi)}`);
  if (!doc.info || typeof doc.info.title !== 'string' || typeof doc.info.version !== 'string') fail('/info', 'needs a title and a version (strings)');
  if (!doc.paths || typeof doc.paths !== 'object') fail('/paths', 'is required');

  const schemes = doc.components?.securitySchemes ?? {};
  for (const [name, s] of Object.entries<Node>(schemes)) {
    const where = `/components/securitySchemes/${name}`;
    if (!['apiKey', 'http', 'oauth2', 'openIdConnect'].includes(s.type)) fail(where, `unknown type ${s.type}`);
    if (s.type === 'apiKey' && (!s.name || !['query', 'header', 'cookie'].includes(s.in))) fail(where, 'apiKey needs name and in');
    if (s.type === 'http' && !s.scheme) fail(where, 'http needs a scheme');
  }
  const declaredTags = new Set((doc.tags ?? []).map((t: Node) => t.name));
  const operationIds = new Set<string>();

  const checkSecurity = (where: string, security: unknown) => {
    if (!Array.isArray(security)) return fail(where, 'must be a list');
    security.forEach((req: Node, i) => {
      for (const name of Object.keys(req)) if (!(name in schemes)) fail(`${where}/${i}`, `names undeclared scheme ${name}`);
    });
  };

  for (const [path, item] of Object.entries<Node>(doc.paths ?? {})) {
    const pw = `/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!path.startsWith('/')) fail(pw, 'must start with /');
    const templates = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const key of Object.keys(item)) if (!PATH_ITEM_KEYS.has(key)) fail(pw, `unexpected key ${key}`);
    for (const [method, op] of Object.entries<Node>(item)) {
      if (!METHODS.has(method)) continue;
      const ow = `${pw}/${method}`;
      if (op.operationId !== undefined) {
        if (operationIds.has(op.operationId)) fail(ow, `duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
      }
      if (!op.responses || Object.keys(op.responses).length === 0) fail(ow, 'needs at least one response');
      for (const [status, r] of Object.entries<Node>(op.responses ?? {})) {
        if (!/^(default|[1-5](\d\d|XX))$/.test(status)) fail(`${ow}/responses/${status}`, 'is not a status code, range or default');
        const resolved = r.$ref ? resolve(doc, r.$ref) : r;
        if (!resolved || typeof resolved.description !== 'string') fail(`${ow}/responses/${status}`, 'needs a description');
      }
      const seen = new Set<string>();
      const pathParams = new Set<string>();
      for (const [i, p] of (op.parameters ?? []).entries() as IterableIterator<[number, Node]>) {
        const w = `${ow}/parameters/${i}`;
        const param = p.$ref ? resolve(doc, p.$ref) : p;
        if (!param) continue;
        if (!PARAM_IN.has(param.in)) fail(w, `bad in ${param.in}`);
        if (typeof param.name !== 'string' || !param.name) fail(w, 'needs a name');
        if (!param.schema && !param.content) fail(w, 'needs a schema or content');
        const key = `${param.in}:${param.name}`;
        if (seen.has(key)) fail(w, `duplicate parameter ${key}`);
        seen.add(key);
        if (param.in === 'path') {
          pathParams.add(param.name);
          if (param.required !== true) fail(w, 'a path parameter must be required');
          if (!templates.includes(param.name)) fail(w, `path parameter ${param.name} is not in the path`);
        }
      }
      for (const t of templates) if (!pathParams.has(t)) fail(ow, `no path parameter for {${t}}`);
      if (op.requestBody) {
        const content = op.requestBody.content;
        if (!content || Object.keys(content).length === 0) fail(`${ow}/requestBody`, 'needs content');
        for (const [type, media] of Object.entries<Node>(content ?? {})) if (!media.schema) fail(`${ow}/requestBody/content/${type}`, 'needs a schema');
      }
      if (op.security !== undefined) checkSecurity(`${ow}/security`, op.security);
      for (const tag of op.tags ?? []) if (!declaredTags.has(tag)) fail(`${ow}/tags`, `undeclared tag ${tag}`);
    }
  }
  if (doc.security !== undefined) checkSecurity('/security', doc.security);

  // Schema Objects, wherever they are, and every $ref.
  const walk = (node: unknown, where: string, inSchema: boolean) => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}/${i}`, inSchema));
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    if (typeof n.$ref === 'string' && resolve(doc, n.$ref) === undefined) fail(where, `$ref ${n.$ref} does not resolve`);
    if (inSchema) {
      if ('type' in n && (typeof n.type !== 'string' || !TYPES.has(n.type))) fail(where, `type ${JSON.stringify(n.type)} is not an OpenAPI 3.0 type`);
      if (n.type === 'array' && !n.items) fail(where, 'an array schema needs items');
      if ('const' in n) fail(where, 'const is not OpenAPI 3.0 (use a one-value enum)');
      if ('required' in n && !Array.isArray(n.required)) fail(where, 'required must be a list');
    }
    for (const [k, v] of Object.entries(n)) {
      const schemaChild = k === 'schema' || (inSchema && ['items', 'not', 'additionalProperties'].includes(k));
      const schemaMap = inSchema && k === 'properties';
      const schemaList = inSchema && ['allOf', 'anyOf', 'oneOf'].includes(k);
      if (schemaMap) for (const [p, s] of Object.entries<unknown>(v as Node)) walk(s, `${where}/properties/${p}`, true);
      else if (schemaList) (v as unknown[]).forEach((s, i) => walk(s, `${where}/${k}/${i}`, true));
      else walk(v, `${where}/${k}`, schemaChild || (where === '/components/schemas' ? true : false));
    }
  };
  walk(doc, '', false);
  return problems;
}

/** The node a local `$ref` (`#/components/...`) points at, or undefined. */
export function resolve(doc: Node, ref: string): Node | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: any = doc;
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) return undefined;
  }
  return node;
}
