import { get } from '../api.ts';
import { EmptyState, Loading, TimeAgo, useLoad } from '../components/ui.tsx';
import type { ContentTypeDoc } from '../entry-values.ts';
import { href } from '../router.ts';

/** Content: the stack's content types, each leading to its entries. */
export function ContentTypes() {
  const loaded = useLoad(
    () => get<{ content_types: Array<ContentTypeDoc & { updated_at: string }> }>('/v3/content_types', { limit: 100 }).then((r) => r.content_types),
    [],
  );
  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Content</h1>
          <p class="lead">Content types define the fields of your entries. Pick one to see and edit its entries.</p>
        </div>
        <a class="btn btn-primary" href={href('types', 'new')}>
          + New content type
        </a>
      </div>
      <Loading loaded={loaded} label="Loading content types…">
        {(cts) =>
          cts.length === 0 ? (
            <EmptyState
              title="No content types yet"
              action={
                <a class="btn btn-primary" href={href('types', 'new')}>
                  Build your first content type
                </a>
              }
            >
              <p>Build one here, or create it through the API (Contentstack’s shape), then add entries:</p>
              <pre class="code">
                <code>{`curl -XPOST $HERALD/v3/content_types \\
  -H "api_key: $API_KEY" -H "authorization: $TOKEN" \\
  -H 'content-type: application/json' \\
  -d '{"content_type":{"title":"Blog","uid":"blog","schema":[
       {"uid":"title","display_name":"Title","data_type":"text","mandatory":true}]}}'`}</code>
              </pre>
            </EmptyState>
          ) : (
            <ul class="cards">
              {cts.map((ct) => (
                <li key={ct.uid} class="card">
                  <a class="card-link" href={href('content', ct.uid)}>
                    <strong>{ct.title}</strong>
                    <span class="mono small muted">{ct.uid}</span>
                    <span class="small">
                      {ct.schema.length} field{ct.schema.length === 1 ? '' : 's'} · updated <TimeAgo t={ct.updated_at} focusable={false} />
                    </span>
                    {ct.description && <span class="small muted">{ct.description}</span>}
                  </a>
                </li>
              ))}
            </ul>
          )
        }
      </Loading>
    </section>
  );
}
