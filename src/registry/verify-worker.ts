/** Worker-thread entry for the report-verification pool (piscina calls the default export). */
import { verifyJob, type VerifyJob } from './report-verifier.js';

export default function verify(job: VerifyJob) {
  return verifyJob(job);
}
