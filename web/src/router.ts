import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routing (`/#/webhooks/blt1/logs`): the server serves one page at `/`, and a reload or a
 * shared link lands on the same screen. Paths are split into decoded segments.
 */
export function currentPath(): string[] {
  const raw = location.hash.replace(/^#\/?/, '').split('?')[0];
  return raw ? raw.split('/').filter(Boolean).map(decodeURIComponent) : [];
}

export function href(...segments: string[]): string {
  return '#/' + segments.map(encodeURIComponent).join('/');
}

export function navigate(...segments: string[]): void {
  location.hash = href(...segments).slice(1);
}

export function useRoute(): string[] {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const on = () => setPath(currentPath());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return path;
}
