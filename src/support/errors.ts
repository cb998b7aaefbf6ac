/** The message of anything thrown (an Error's message, else its text). */
export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * What a Node system error's code means for someone running carelake (`ENOSPC: no space left on device,
 * write` says neither what to do nor that nothing was lost); undefined for other errors.
 */
export function systemAdvice(error: unknown): string | undefined {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk is full, or the disk quota is used up: free space';
    case 'EROFS':
      return 'the file system is read-only: choose a writable place (--db, --out, --landing)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: run as a user who may write there, or choose another place';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files: raise the limit (e.g. `ulimit -n 4096`) or close other programs';
    default:
      return undefined;
  }
}

/** systemAdvice as a line to add to the error's message (empty for other errors). */
export function systemHint(error: unknown): string {
  const advice = systemAdvice(error);
  return advice === undefined ? '' : `\n(${advice})`;
}
