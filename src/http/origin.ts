import { readFileSync } from 'node:fs';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { HeraldError } from '../errors.ts';

/**
 * The origin written into asset URLs and links: `publicUrl` when the operator set one, else the
 * scheme and Host the request came in on. Behind a proxy Herald trusts (`trustProxy`), Fastify
 * takes both from X-Forwarded-Proto and X-Forwarded-Host; otherwise those headers are ignored, so
 * a client cannot make Herald write another origin into what it returns to others.
 */
export function originOf(req: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl;
  return `${req.protocol}://${req.host || 'localhost'}`;
}

/**
 * Fastify's `https` option from the tlsCert/tlsKey settings (undefined: plain HTTP). The files are
 * read once at start; an unreadable one stops Herald with a message naming the setting.
 */
export function tlsOptions(config: Pick<Config, 'tlsCert' | 'tlsKey'>): { cert: Buffer; key: Buffer } | undefined {
  if (!config.tlsCert || !config.tlsKey) return undefined;
  const read = (file: string, setting: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      const problem = `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      throw new HeraldError('validation_failed', `Invalid setting ${setting}: ${problem}`, { errors: { [setting]: [problem] } });
    }
  };
  return { cert: read(config.tlsCert, 'HERALD_TLS_CERT'), key: read(config.tlsKey, 'HERALD_TLS_KEY') };
}
