import { pino, type Logger } from 'pino';
import { redact, redactDeep } from './redact.ts';

export type { Logger };

// Secrets known to this process (the model key, the webhook secret, minted tokens) are added at
// start-up and as tokens are minted, so a log line can never carry one.
/** `stderr`: for commands whose standard output is their result (`ai-fix run`). */
export function createLogger(options: { level?: string; secrets?: Set<string>; stderr?: boolean } = {}): Logger {
  const secrets = options.secrets ?? new Set<string>();
  return pino({
    level: options.level ?? 'info',
    base: { service: 'ai-fix' },
    formatters: {
      log: (object) => redactDeep(object, secrets),
    },
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((arg) =>
          typeof arg === 'string' ? redact(arg, secrets) : arg,
        ) as Parameters<typeof method>;
        method.apply(this, redacted);
      },
    },
    serializers: {
      err: (err: unknown) => redactDeep(pino.stdSerializers.err(err as Error), secrets),
    },
  }, options.stderr ? pino.destination(2) : undefined);
}
