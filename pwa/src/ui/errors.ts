// What the user reads when something fails: the error's own French message (db/ and sync/ errors carry
// one), never a stack trace.
export function reason(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return String(error);
}
