import type { FastifyInstance } from 'fastify';
import { createLocale, deleteLocale, getLocale, listLocales, updateLocale } from '../../content/locales.ts';
import { bodyField } from '../../content/field-errors.ts';
import { notFound } from '../../errors.ts';
import type { Herald } from '../../herald.ts';
import { ListQuery, presentList } from '../list.ts';
import { doc, CREATED, Envelope, Params, TAGS } from '../schemas.ts';

const CODE = Params({ code: 'the locale code, e.g. en-us' });

/** Languages (Contentstack CMA `/v3/locales`, addressed by code). */
export default function localeRoutes(app: FastifyInstance, h: Herald) {
  app.post('/v3/locales', doc(TAGS.locales, 'Add a locale', { body: Envelope('locale', 'code, name, fallback_locale'), success: CREATED }), async (req, reply) => {
    const scope = await h.scope(req);
    const locale = await createLocale(h.db, scope, bodyField(req.body, 'locale'));
    reply.status(201);
    return { notice: 'Language added successfully.', locale };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/v3/locales', doc(TAGS.locales, 'List locales', { querystring: ListQuery() }), async (req) => {
    const scope = await h.scope(req);
    return presentList('locales', (await listLocales(h.db, scope.api_key)), req.query);
  });

  app.get<{ Params: { code: string } }>('/v3/locales/:code', doc(TAGS.locales, 'Get a locale', { params: CODE }), async (req) => {
    const scope = await h.scope(req);
    const locale = await getLocale(h.db, scope.api_key, req.params.code);
    if (!locale) throw notFound(`Locale ${req.params.code}`);
    return { locale };
  });

  app.put<{ Params: { code: string } }>('/v3/locales/:code', doc(TAGS.locales, 'Update a locale', { params: CODE, body: Envelope('locale', 'the fields to change') }), async (req) => {
    const scope = await h.scope(req);
    const locale = await updateLocale(h.db, scope, req.params.code, bodyField(req.body, 'locale'));
    return { notice: 'Language updated successfully.', locale };
  });

  app.delete<{ Params: { code: string } }>('/v3/locales/:code', doc(TAGS.locales, 'Remove a locale', { params: CODE }), async (req) => {
    const scope = await h.scope(req);
    await deleteLocale(h.db, scope, req.params.code);
    return { notice: 'Language removed successfully.' };
  });
}
