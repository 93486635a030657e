import type { TestHerald } from '../../helpers/herald.ts';
import { clientStack, type TestStack } from '../../content/helpers/content.ts';

/**
 * A small published site on a fresh stack: environments production and staging, locales en-us
 * (master) and fr-fr (falls back to en-us); authors and posts (a post references authors and has
 * a picture), some published to production, one to staging only, one never published.
 */
export interface Site extends TestStack {
  ids: { ada: string; bob: string; hello: string; second: string; stagingOnly: string; draft: string; picture: string };
  /** A delivery token reading production (main), and one reading staging. */
  production: string;
  staging: string;
}

export const PUBLISH = (environments: string[], locales = ['en-us']) => ({ publishDetails: { environments, locales } });

export async function deliveryToken(h: Pick<TestHerald, 'request'>, s: TestStack, environments: string[], branches = ['main']): Promise<string> {
  const r = await h.request('POST', '/v3/stacks/delivery_tokens', {
    headers: s.headers,
    body: { token: { name: `reads ${environments.join(',')}`, scope: [{ module: 'environment', environments, acl: { read: true } }, { module: 'branch', branches, acl: { read: true } }] } },
  });
  if (r.status !== 201) throw new Error(`delivery token: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token.token;
}

export async function publishedSite(h: TestHerald): Promise<Site> {
  const s = await clientStack(h);
  await s.stack.environment().create({ environment: { name: 'production' } });
  await s.stack.environment().create({ environment: { name: 'staging' } });
  await s.stack.locale().create({ locale: { code: 'fr-fr', name: 'French', fallback_locale: 'en-us' } });
  await s.stack.contentType().create({
    content_type: { title: 'Author', uid: 'author', schema: [{ uid: 'title', display_name: 'Name', data_type: 'text', mandatory: true }, { uid: 'bio', display_name: 'Bio', data_type: 'text' }] },
  });
  await s.stack.contentType().create({
    content_type: {
      title: 'Post',
      uid: 'post',
      schema: [
        { uid: 'title', display_name: 'Title', data_type: 'text', mandatory: true },
        { uid: 'rank', display_name: 'Rank', data_type: 'number' },
        { uid: 'authors', display_name: 'Authors', data_type: 'reference', reference_to: ['author'], multiple: true },
        { uid: 'picture', display_name: 'Picture', data_type: 'file' },
      ],
    },
  });
  const picture = await s.stack.asset().create({ upload: Buffer.from('a picture'), filename: 'pic.png', content_type: 'image/png' });
  await s.stack.asset(picture.uid).publish(PUBLISH(['production']));
  const authors = s.stack.contentType('author').entry();
  const ada = await authors.create({ entry: { title: 'Ada', bio: 'first programmer' } });
  const bob = await authors.create({ entry: { title: 'Bob', bio: 'unpublished' } });
  await s.stack.contentType('author').entry(ada.uid).publish(PUBLISH(['production', 'staging']));
  await s.stack.contentType('author').entry(bob.uid).publish(PUBLISH(['production']));
  const posts = s.stack.contentType('post').entry();
  const ref = (uid: string) => ({ uid, _content_type_uid: 'author' });
  const hello = await posts.create({ entry: { title: 'Hello', rank: 1, authors: [ref(ada.uid), ref(bob.uid)], picture: picture.uid } });
  const second = await posts.create({ entry: { title: 'Second', rank: 2, authors: [ref(ada.uid)] } });
  const stagingOnly = await posts.create({ entry: { title: 'Staging only', rank: 3 } });
  const draft = await posts.create({ entry: { title: 'Draft', rank: 4 } });
  await s.stack.contentType('post').entry(hello.uid).publish(PUBLISH(['production']));
  await s.stack.contentType('post').entry(second.uid).publish(PUBLISH(['production']));
  await s.stack.contentType('post').entry(stagingOnly.uid).publish(PUBLISH(['staging']));
  // Bob was published when Hello referenced him; now he is not.
  await s.stack.contentType('author').entry(bob.uid).unpublish(PUBLISH(['production']));
  return {
    ...s,
    ids: { ada: ada.uid, bob: bob.uid, hello: hello.uid, second: second.uid, stagingOnly: stagingOnly.uid, draft: draft.uid, picture: picture.uid },
    production: await deliveryToken(h, s, ['production']),
    staging: await deliveryToken(h, s, ['staging']),
  };
}
