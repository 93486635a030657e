import nodemailer from 'nodemailer';
import type { Logger } from 'pino';

/**
 * Email to a webhook's notifiers (`herald serve --smtp-url smtp://user:pass@host:587`), sent with
 * nodemailer after the change that causes it committed. Sending never blocks the caller (delivery,
 * a request): it runs in the background, and a failure is logged, never retried and never
 * thrown. The SMTP URL may hold a password: it is never logged, and neither is a failure's
 * message as nodemailer words it (it can quote the server's greeting or the URL); the log gets
 * its code and the recipients' count.
 */
export interface Mailer {
  /** Sends one message in the background; resolves once it was sent or failed (tests wait on it). */
  send(message: { to: string[]; subject: string; text: string }): Promise<void>;
  close(): void;
}

/** From address when the SMTP URL names none (`?from=herald@example.com` sets it). */
const DEFAULT_FROM = 'Herald <herald@localhost>';

export function createMailer(smtpUrl: string, log: Logger): Mailer {
  const url = new URL(smtpUrl);
  const from = url.searchParams.get('from') ?? DEFAULT_FROM;
  url.searchParams.delete('from');
  const transport = nodemailer.createTransport(url.toString());
  return {
    async send(m) {
      if (m.to.length === 0) return;
      try {
        await transport.sendMail({ from, to: m.to, subject: m.subject, text: m.text });
        log.info({ recipients: m.to.length, subject: m.subject }, 'notification email sent');
      } catch (err) {
        const e = err as { code?: string; responseCode?: number; command?: string };
        log.warn({ code: e.code ?? null, responseCode: e.responseCode ?? null, command: e.command ?? null, recipients: m.to.length, subject: m.subject }, 'notification email failed');
      }
    },
    close: () => transport.close(),
  };
}
