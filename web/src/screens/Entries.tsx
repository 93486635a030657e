import { useState } from 'preact/hooks';
import { get } from '../api.ts';
import { Badge, EmptyState, Loading, TimeAgo, useLoad } from '../components/ui.tsx';
import { entryName, type ContentTypeDoc, type EntryDoc } from '../entry-values.ts';
import { href } from '../router.ts';

const PAGE = 50;

/** The entries of one content type, newest change first, with their publish state. */
export function Entries(props: { contentType: string }) {
  const [skip, setSkip] = useState(0);
  const ct = useLoad(() => get<{ content_type: ContentTypeDoc }>(`/v3/content_types/${encodeURIComponent(props.contentType)}`).then((r) => r.content_type), [props.contentType]);
  const list = useLoad(
    () =>
      get<{ entries: EntryDoc[]; count: number }>(`/v3/content_types/${encodeURIComponent(props.contentType)}/entries`, {
        skip,
        limit: PAGE,
        include_count: true,
        desc: 'updated_at',
      }),
    [props.contentType, skip],
  );
  const title = ct.data?.title ?? props.contentType;
  return (
    <section>
      <div class="page-head">
        <div>
          <p class="crumbs">
            <a href={href('content')}>Content</a>
          </p>
          <h1>{title}</h1>
        </div>
        <div class="head-actions">
          <a class="btn" href={href('types', props.contentType)}>
            Edit fields
          </a>
          <a class="btn btn-primary" href={href('content', props.contentType, 'new')}>
            + New entry
          </a>
        </div>
      </div>
      <Loading loaded={list} label="Loading entries…">
        {({ entries, count }) =>
          entries.length === 0 ? (
            <EmptyState
              title={`No ${title} entries yet`}
              action={
                <a class="btn btn-primary" href={href('content', props.contentType, 'new')}>
                  Create the first entry
                </a>
              }
            >
              Entries are the content itself. Create one, publish it, and every webhook listening for it is called.
            </EmptyState>
          ) : (
            <>
              <div class="table-wrap">
                <table class="list">
                  <caption class="visually-hidden">Entries of {title}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Title</th>
                      <th scope="col">Status</th>
                      <th scope="col">Version</th>
                      <th scope="col">Updated</th>
                    </tr>
                  </thead>
                  <tbody>
                    {entries.map((e) => (
                      <tr key={e.uid}>
                        <td data-label="Title">
                          <a class="row-title" href={href('content', props.contentType, e.uid)}>
                            {entryName(e)}
                          </a>
                          <span class="mono small muted block">{e.uid}</span>
                        </td>
                        <td data-label="Status">
                          {e._archived ? (
                            <Badge kind="warn">Archived</Badge>
                          ) : e.publish_details?.length ? (
                            <Badge kind="good" title={e.publish_details.map((d) => `${d.environment} ${d.locale} v${d.version}`).join('\n')}>
                              Published
                            </Badge>
                          ) : (
                            <Badge kind="none">Draft</Badge>
                          )}
                        </td>
                        <td data-label="Version" class="num">
                          {e._version}
                        </td>
                        <td data-label="Updated">
                          <TimeAgo t={e.updated_at} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {count > PAGE && (
                <nav class="pager" aria-label="Pages of entries">
                  <button type="button" class="btn btn-small" disabled={skip === 0} onClick={() => setSkip(Math.max(0, skip - PAGE))}>
                    ← Previous
                  </button>
                  <span class="small">
                    {skip + 1}–{skip + entries.length} of {count}
                  </span>
                  <button type="button" class="btn btn-small" disabled={skip + entries.length >= count} onClick={() => setSkip(skip + PAGE)}>
                    Next →
                  </button>
                </nav>
              )}
            </>
          )
        }
      </Loading>
    </section>
  );
}
