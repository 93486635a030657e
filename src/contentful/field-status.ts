import { contentfulLocale, type LocaleStatus } from './entities.ts';

export type { LocaleStatus };

/** One locale's content (an entry's locale line, or an asset) and its version. */
export interface Versioned {
  locale: string;
  version: number;
}

/**
 * The status of each of `locales` (Herald's codes; keys in Contentful's spelling, `en-US`): from what
 * is published in the environment (`published`: one row per locale, the version it published) and
 * the content's current versions (`current`: per locale; a locale without its own content compares
 * with `fallback`, the content a publish of that locale took: the master line, or the asset).
 */
export function fieldStatus(locales: Iterable<string>, current: readonly Versioned[], published: readonly Versioned[], fallback?: number): { '*': Record<string, LocaleStatus> } {
  const now = new Map(current.map((c) => [c.locale, c.version]));
  const pub = new Map(published.map((p) => [p.locale, p.version]));
  const out: Record<string, LocaleStatus> = {};
  for (const locale of locales) {
    const at = pub.get(locale);
    if (at === undefined) out[contentfulLocale(locale)] = 'draft';
    else {
      const version = now.get(locale) ?? fallback;
      out[contentfulLocale(locale)] = version !== undefined && version > at ? 'changed' : 'published';
    }
  }
  return { '*': out };
}
