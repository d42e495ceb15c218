import type { TaskKind } from './task-request.ts';

// BullMQ job ids may not contain ':' and must not be all digits. The delivery id makes a
// redelivered webhook map onto the job it already created; the work key makes one issue or PR
// hold at most one queued-or-running task of a kind (BullMQ deduplication).
function clean(part: string | number): string {
  return String(part).replace(/[^A-Za-z0-9_.-]/g, '_');
}

export function taskJobId(kind: TaskKind, repoId: number, number: number, deliveryId: string): string {
  return `${kind}-r${clean(repoId)}-n${clean(number)}-d${clean(deliveryId)}`;
}

export function workKey(kind: TaskKind, repoId: number, number: number): string {
  return `${kind}-r${clean(repoId)}-n${clean(number)}`;
}

/** One intake job per webhook delivery: a redelivery finds the job its first attempt created. */
export function intakeJobId(deliveryId: string): string {
  return `labeled-d${clean(deliveryId)}`;
}
