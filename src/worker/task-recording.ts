import { responseCost } from '../agent/cost.ts';
import { modelInfo } from '../agent/model-catalog.ts';
import { countModelUsage } from '../observability/metrics.ts';
import { taskIdentity } from '../observability/task-record.ts';
import { TaskRecorder } from '../observability/task-recorder.ts';
import type { TaskJob } from '../queue/task-queue.ts';
import type { TaskRequest } from '../queue/task-request.ts';
import type { Logger } from '../util/logger.ts';
import type { TaskDependencies } from './task-dependencies.ts';

/** The recorder for one task run: its record in Redis, plus the model usage metrics. */
export function recordTask(job: TaskJob, request: TaskRequest, deps: TaskDependencies, log: Logger): TaskRecorder {
  return new TaskRecorder({
    redis: deps.redis,
    prefix: deps.env.queuePrefix,
    task: taskIdentity(job, request),
    secrets: deps.secrets,
    log,
    price: (model, usage) => {
      const pricing = modelInfo(model, deps.env.modelOverrides).pricing;
      return pricing ? responseCost(usage, pricing) : null;
    },
    onModelUsage: (model, usage, dollars) => countModelUsage(deps.metrics, model, usage, dollars),
  });
}
