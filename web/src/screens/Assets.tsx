import { useEffect, useRef, useState } from 'preact/hooks';
import { blobUrl, del, errorText, fieldError, get, upload } from '../api.ts';
import { Confirm, EmptyState, ErrorText, Field, Loading, TimeAgo, useLoad, valueOf } from '../components/ui.tsx';
import { notify } from '../notice.ts';

interface AssetDoc {
  uid: string;
  title?: string;
  filename: string;
  content_type: string;
  file_size: string | number;
  updated_at: string;
  _archived?: boolean;
}

const PREVIEWABLE = /^image\/(png|jpe?g|gif|webp|avif)$/;

/** "12.3 KB" */
export function size(bytes: number): string {
  if (!Number.isFinite(bytes)) return '';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Assets: upload (with progress) and the list, with previews for images and downloads. */
export function Assets() {
  const loaded = useLoad(() => get<{ assets: AssetDoc[]; count: number }>('/v3/assets', { limit: 100, include_count: true, desc: 'updated_at' }), []);
  const [deleting, setDeleting] = useState<AssetDoc | null>(null);
  return (
    <section>
      <div class="page-head">
        <div>
          <h1>Assets</h1>
          <p class="lead">Files your entries use: images, documents, video.</p>
        </div>
      </div>
      <UploadForm onUploaded={() => loaded.reload()} />
      <Loading loaded={loaded} label="Loading assets…">
        {({ assets }) =>
          assets.length === 0 ? (
            <EmptyState title="No assets yet">Upload a file above; entries can then use it in their file fields.</EmptyState>
          ) : (
            <ul class="asset-grid">
              {assets.map((a) => (
                <li key={a.uid} class="asset-card">
                  <Preview a={a} />
                  <div class="asset-meta">
                    <strong class="break">{a.title || a.filename}</strong>
                    <span class="small muted break">
                      {a.filename} · {size(Number(a.file_size))}
                    </span>
                    <span class="small muted">
                      <span class="mono">{a.uid}</span> · <TimeAgo t={a.updated_at} />
                    </span>
                    <div class="actions-left">
                      <DownloadButton a={a} />
                      <button type="button" class="btn btn-small btn-danger-outline" onClick={() => setDeleting(a)} aria-label={`Delete ${a.filename}`}>
                        Delete
                      </button>
                    </div>
                  </div>
                </li>
              ))}
            </ul>
          )
        }
      </Loading>
      {deleting && (
        <Confirm
          title="Delete asset"
          danger
          confirmLabel="Delete"
          message={
            <p>
              Delete <strong>{deleting.filename}</strong>? Entries that use it keep a broken link. This cannot be undone.
            </p>
          }
          onConfirm={async () => {
            await del(`/v3/assets/${encodeURIComponent(deleting.uid)}`);
            notify(`Asset ${deleting.filename} deleted.`);
            await loaded.reload();
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

function UploadForm(props: { onUploaded: () => void }) {
  const file = useRef<HTMLInputElement>(null);
  const [title, setTitle] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [chosen, setChosen] = useState<File | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const f = file.current?.files?.[0];
    if (!f) return setError(new Error('Choose a file to upload.'));
    const form = new FormData();
    form.append('asset[upload]', f, f.name);
    if (title.trim()) form.append('asset[title]', title.trim());
    setProgress(0);
    try {
      await upload('POST', '/v3/assets', form, setProgress);
      notify(`Uploaded ${f.name}.`);
      setTitle('');
      setChosen(null);
      if (file.current) file.current.value = '';
      props.onUploaded();
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };

  return (
    <form class="panel upload" onSubmit={submit} noValidate>
      <h2>Upload a file</h2>
      <div class="two-col">
        <Field label="File" error={fieldError(error, 'asset[upload]')}>
          {(id, d) => <input id={id} ref={file} type="file" aria-describedby={d} onChange={() => setChosen(file.current?.files?.[0] ?? null)} />}
        </Field>
        <Field label="Title (optional)" error={fieldError(error, 'asset[title]')}>
          {(id, d) => <input id={id} aria-describedby={d} value={title} onInput={(e) => setTitle(valueOf(e))} placeholder={chosen?.name ?? ''} />}
        </Field>
      </div>
      {progress !== null && (
        <div class="progress-row">
          <progress max={1} value={progress} aria-label="Upload progress" />
          <span class="small">{Math.round(progress * 100)}%</span>
        </div>
      )}
      {error && !fieldError(error, 'asset[upload]') && !fieldError(error, 'asset[title]') ? <ErrorText error={error} /> : null}
      <button type="submit" class="btn btn-primary" disabled={progress !== null}>
        {progress !== null ? 'Uploading…' : 'Upload'}
      </button>
    </form>
  );
}

/** Images are fetched with the session's headers (the file URL needs them) and shown from a blob: URL. */
function Preview(props: { a: AssetDoc }) {
  const [src, setSrc] = useState<string | null>(null);
  const can = PREVIEWABLE.test(props.a.content_type) && Number(props.a.file_size) < 5 * 1024 * 1024;
  useEffect(() => {
    if (!can) return;
    let url: string | null = null;
    let live = true;
    blobUrl(`/v3/assets/${encodeURIComponent(props.a.uid)}/download`)
      .then((u) => (live ? ((url = u), setSrc(u)) : URL.revokeObjectURL(u)))
      .catch(() => {});
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [props.a.uid, props.a.updated_at]);
  if (can && src) return <img class="asset-thumb" src={src} alt={props.a.title || props.a.filename} />;
  const ext = props.a.filename.includes('.') ? props.a.filename.split('.').pop()!.slice(0, 5).toUpperCase() : 'FILE';
  return (
    <div class="asset-thumb asset-icon" aria-hidden="true">
      {ext}
    </div>
  );
}

function DownloadButton(props: { a: AssetDoc }) {
  const [error, setError] = useState<unknown>(null);
  const download = async () => {
    setError(null);
    try {
      const u = await blobUrl(`/v3/assets/${encodeURIComponent(props.a.uid)}/download`);
      const link = document.createElement('a');
      link.href = u;
      link.download = props.a.filename;
      link.click();
      setTimeout(() => URL.revokeObjectURL(u), 10_000);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <button type="button" class="btn btn-small" onClick={download}>
        Download
      </button>
      {error ? <span class="error small">{errorText(error)}</span> : null}
    </>
  );
}
