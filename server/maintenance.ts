import { errorFields, type Logger } from "../lib/log";

/** A periodic housekeeping task. */
export interface MaintenanceTask {
  name: string;
  run(): Promise<unknown>;
}

/**
 * Runs housekeeping every `intervalMs` (0 turns it off): one task at a time, never overlapping, a
 * failure logged and retried at the next round. Under Encore the same endpoints run as cron jobs.
 */
export function startMaintenance(tasks: MaintenanceTask[], intervalMs: number, log: Logger): { stop(): Promise<void> } {
  if (intervalMs === 0) return { stop: async () => undefined };
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(async () => {
      for (const task of tasks) {
        try {
          await task.run();
        } catch (err) {
          log.warn("maintenance task failed", { task: task.name, ...errorFields(err) });
        }
      }
    });
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
