import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApplicationFunction } from 'probot';
import { dashboardRoutes } from '../dashboard/dashboard-routes.ts';
import type { Metrics } from '../observability/metrics.ts';
import { metricsRoute } from '../observability/metrics-route.ts';
import { handleCiEvent } from './handle-ci-event.ts';
import { handleIssueClosed, handleIssueUnlabeled, handlePullRequestClosed, handlePullRequestReopened } from './handle-cancel.ts';
import { handleReviewComment, handleReviewSubmitted } from './handle-feedback.ts';
import { handleIssueComment } from './handle-issue-comment.ts';
import { handleIssueLabeled, type HandlerDependencies } from './handle-issue-labeled.ts';
import { handleBasePush } from './handle-rebase.ts';
import { healthRoutes } from './health-routes.ts';
import { queueGuard } from './queue-guard.ts';

type HandledEvent =
  | 'issues.labeled'
  | 'issues.unlabeled'
  | 'issues.closed'
  | 'pull_request.closed'
  | 'pull_request.reopened'
  | 'issue_comment.created'
  | 'pull_request_review.submitted'
  | 'pull_request_review_comment.created'
  | 'check_suite.completed'
  | 'check_run.completed'
  | 'workflow_run.completed'
  | 'status'
  | 'push';

export interface AppOptions extends HandlerDependencies {
  /** Called with the delivery id of each webhook refused while Redis was unreachable. */
  onRefused: (deliveryId: string) => void;
  metrics: Metrics;
  /** Opens the dashboard; unset, it refuses everything. */
  dashboardToken: string | undefined;
  /** Opens /metrics; unset, it refuses everything. */
  metricsToken: { token: string | undefined; tokenVariable: string };
}

/** A route beside the webhook: true when it answered the request. */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface App {
  /** The webhook handlers, one per event the app acts on. */
  appFn: ApplicationFunction;
  /** Runs before a webhook delivery is read: true when it answered (Redis is unreachable). */
  guard: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Health, metrics and dashboard. */
  routes: Route[];
}

/**
 * The Probot application: one handler per webhook event it acts on (others reach no handler of
 * ours: Probot only verifies and answers them), the Redis guard, and the other routes.
 */
export function createApp(options: AppOptions): App {
  const { metrics } = options;
  // Webhooks by event (name.action, a fixed set GitHub defines) and what became of them.
  const counted = async (event: HandledEvent, run: () => Promise<unknown>) => {
    try {
      await run();
      metrics.webhooks.inc({ event, outcome: 'handled' });
    } catch (err) {
      metrics.webhooks.inc({ event, outcome: 'error' });
      throw err;
    }
  };
  const guard = queueGuard({
    redis: options.redis,
    onRefused: (deliveryId, event) => {
      metrics.webhooks.inc({ event, outcome: 'refused' });
      options.onRefused(deliveryId);
    },
  });
  const routes: Route[] = [
    healthRoutes(options.redis),
    metricsRoute({ metrics, ...options.metricsToken }),
    dashboardRoutes({ redis: options.redis, queue: options.queue, intake: options.intake, prefix: options.queuePrefix, token: options.dashboardToken }),
  ];
  const appFn: ApplicationFunction = (app) => {
    // The app's own slug, for mentions; asked of GitHub once, when first needed.
    let slug: Promise<string | undefined> | undefined;
    const appSlug = () => {
      slug ??= app
        .auth()
        .then((octokit) => octokit.rest.apps.getAuthenticated())
        .then(({ data }) => data?.slug)
        .catch((err: unknown) => {
          slug = undefined;
          app.log.warn({ err }, 'could not read the app slug; mentions are ignored for now');
          return undefined;
        });
      return slug;
    };

    app.on('issues.labeled', (context) => counted('issues.labeled', () => handleIssueLabeled(context, options)));
    app.on('issues.unlabeled', (context) => counted('issues.unlabeled', () => handleIssueUnlabeled(context, options)));
    app.on('issues.closed', (context) => counted('issues.closed', () => handleIssueClosed(context, options)));
    app.on('pull_request.closed', (context) => counted('pull_request.closed', () => handlePullRequestClosed(context, options)));
    app.on('pull_request.reopened', (context) => counted('pull_request.reopened', () => handlePullRequestReopened(context, options, appSlug)));
    app.on('issue_comment.created', (context) => counted('issue_comment.created', () => handleIssueComment(context, options, appSlug)));
    app.on('pull_request_review.submitted', (context) => counted('pull_request_review.submitted', () => handleReviewSubmitted(context, options)));
    app.on('pull_request_review_comment.created', (context) =>
      counted('pull_request_review_comment.created', () => handleReviewComment(context, options)),
    );
    app.on('check_suite.completed', (context) => {
      const suite = context.payload.check_suite;
      return counted('check_suite.completed', () =>
        handleCiEvent(context, options, { sha: suite.head_sha, branches: [suite.head_branch ?? ''], event: 'check_suite.completed' }),
      );
    });
    app.on('check_run.completed', (context) => {
      const run = context.payload.check_run;
      return counted('check_run.completed', () =>
        handleCiEvent(context, options, { sha: run.head_sha, branches: [run.check_suite?.head_branch ?? ''], event: 'check_run.completed' }),
      );
    });
    app.on('workflow_run.completed', (context) => {
      const run = context.payload.workflow_run;
      return counted('workflow_run.completed', () =>
        handleCiEvent(context, options, { sha: run.head_sha, branches: [run.head_branch ?? ''], event: 'workflow_run.completed', headRepoId: run.head_repository?.id }),
      );
    });
    app.on('status', (context) =>
      counted('status', async () => {
        if (context.payload.state === 'pending') return;
        await handleCiEvent(context, options, { sha: context.payload.sha, branches: context.payload.branches.map((b) => b.name), event: 'status' });
      }),
    );
    app.on('push', (context) => counted('push', () => handleBasePush(context, options)));
  };
  return { appFn, guard, routes };
}
