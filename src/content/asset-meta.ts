/** An asset's metadata (title, description, tags, folder) as a create or update sends it. */
import type { FieldErrors } from '../errors.ts';
import { addError } from './field-errors.ts';
import { isEntityUid } from './guards.ts';

/** Keys of an asset body that Herald sets itself; the client's update() echoes them back. */
export const ASSET_SYSTEM_KEYS = new Set([
  'uid',
  'url',
  'filename',
  'file_size',
  'content_type',
  'is_dir',
  '_version',
  'created_at',
  'updated_at',
  'created_by',
  'updated_by',
  'publish_details',
  'ACL',
  '_archived',
  '_metadata',
  'dimension',
  'stackHeaders',
  'urlPath',
]);

export interface AssetMeta {
  title: string;
  description: string;
  tags: string[];
  parent_uid: string | null;
}

/**
 * Checks an asset's metadata: `title`, `description`, `tags` (a list, or a comma-separated string
 * as multipart uploads send it) and `parent_uid`. On update, `current` gives the values kept when
 * not sent. Unknown keys are refused.
 */
export function checkAssetMeta(raw: Record<string, unknown>, current: AssetMeta): { value: AssetMeta; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const value = { ...current };
  for (const [k, v] of Object.entries(raw)) {
    if (ASSET_SYSTEM_KEYS.has(k) || v === undefined) continue;
    const p = `asset.${k}`;
    switch (k) {
      case 'title':
        if (typeof v !== 'string' || v.length > 255) addError(errors, p, 'must be a string of at most 255 characters');
        else if (v.trim() !== '') value.title = v.trim();
        break;
      case 'description':
        if (v !== null && typeof v !== 'string') addError(errors, p, 'must be a string');
        else value.description = v ?? '';
        break;
      case 'tags': {
        const list = typeof v === 'string' ? v.split(',') : v;
        if (v === null) value.tags = [];
        else if (!Array.isArray(list) || !list.every((t) => typeof t === 'string' && t.length <= 255) || list.length > 100) {
          addError(errors, p, 'must be a list (or comma-separated string) of at most 100 tags');
        } else value.tags = [...new Set((list as string[]).map((t) => t.trim()).filter(Boolean))];
        break;
      }
      case 'parent_uid':
        if (v === null || v === '') value.parent_uid = null;
        else if (!isEntityUid(v)) addError(errors, p, 'must be a folder uid');
        else value.parent_uid = v;
        break;
      default:
        addError(errors, p, 'is not a field of assets (title, description, tags, parent_uid)');
    }
  }
  return { value, errors };
}
