import { api } from "encore.dev/api";
import { CronJob } from "encore.dev/cron";

interface Report {
  done: number;
}

interface SweepRequest {
  olderThanSeconds?: number;
}

export const tidy = api({ expose: false, method: "POST", path: "/svc/tidy" }, async (): Promise<Report> => ({ done: 1 }));

export const sweep = api({ expose: false, method: "POST", path: "/svc/sweep" }, async (req: SweepRequest): Promise<Report> => ({ done: req.olderThanSeconds ?? 0 }));

const helper = async () => ({ done: 0 });

const _fine = new CronJob("tidy", { title: "Tidy", every: "10m", endpoint: tidy });
const _fineSchedule = new CronJob("tidy-nightly", { title: "Tidy at night", schedule: "0 3 * * *", endpoint: tidy });
const _withParams = new CronJob("sweep", { title: "Sweep", every: "1h", endpoint: sweep }); // violation
const _both = new CronJob("both", { title: "Both", every: "1h", schedule: "0 * * * *", endpoint: tidy }); // violation
const _neither = new CronJob("neither", { title: "Neither", endpoint: tidy }); // violation
const _uneven = new CronJob("uneven", { title: "Uneven", every: "7m", endpoint: tidy }); // violation
const _seconds = new CronJob("seconds", { title: "Seconds", every: "30s", endpoint: tidy }); // violation
const _tooLong = new CronJob("too-long", { title: "Too long", every: "48h", endpoint: tidy }); // violation
const _fourFields = new CronJob("four-fields", { title: "Four", schedule: "0 3 * *", endpoint: tidy }); // violation
const _notEndpoint = new CronJob("not-endpoint", { title: "Helper", every: "1h", endpoint: helper }); // violation
const _again = new CronJob("tidy", { title: "Tidy again", every: "1h", endpoint: tidy }); // violation
const name = "dynamic";
const _dynamicId = new CronJob(name, { title: "Dynamic", every: "1h", endpoint: tidy }); // violation
