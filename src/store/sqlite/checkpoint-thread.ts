// Entry of the checkpoint thread (see checkpointer.ts): its own connection copies committed WAL
// frames into the database file while the writing connection goes on writing.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const port = parentPort;
if (port === null) throw new TypeError('sqlite-checkpoint-thread.js must run as a worker thread');
const db = new Database((workerData as { path: string }).path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');

port.on('message', (message: unknown) => {
  if (message === 'stop') {
    db.close();
    port.close();
    return;
  }
  // PASSIVE never waits for the writer: it copies what is committed and leaves the rest for next time.
  db.pragma('wal_checkpoint(PASSIVE)');
});
