import { listContentTypes } from '../content/content-types.ts';
import type { Scope } from '../content/context.ts';
import { masterLocale } from '../content/locales.ts';
import type { Queryable } from '../store/db.ts';
import { asyncApiDocument } from './asyncapi.ts';
import { eventCatalog, type CatalogEntry } from './catalog.ts';
import { describedFormats } from './formats/index.ts';

/** A stack's event catalog (src/delivery/catalog.ts), from the content types of the scope's branch. */
export async function stackCatalog(q: Queryable, scope: Scope): Promise<CatalogEntry[]> {
  return eventCatalog({ api_key: scope.api_key, masterLocale: await masterLocale(q, scope.api_key), contentTypes: await listContentTypes(q, scope), formats: describedFormats() });
}

/** A stack's event catalog as an AsyncAPI 3.0 document (src/delivery/asyncapi.ts), titled with the stack's name. */
export async function stackAsyncApi(q: Queryable, scope: Scope): Promise<Record<string, unknown>> {
  const row = await q.get<{ name: string }>('SELECT name FROM stacks WHERE api_key = ?', [scope.api_key]);
  const titles = Object.fromEntries(describedFormats().map((f) => [f.name, f.title ?? f.name]));
  return asyncApiDocument(await stackCatalog(q, scope), { api_key: scope.api_key, name: row?.name ?? scope.api_key }, titles);
}
