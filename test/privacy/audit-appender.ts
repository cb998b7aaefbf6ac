/** Child process for the concurrency test: appends N entries to an audit trail as fast as it can. */
import { appendAudit } from '../../src/privacy/audit.ts';

const [file, id, n] = process.argv.slice(2);
for (let i = 0; i < Number(n); i++)
  appendAudit(file ?? '', { action: 'concurrent', details: { process: id, i } });
