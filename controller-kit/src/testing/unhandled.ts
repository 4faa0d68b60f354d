/**
 * Collects unhandled promise rejections and uncaught exceptions while installed: the
 * fault tests assert that a failing API server left none behind (Node would end a
 * product process on either).
 */
export function trapUnhandled(): { readonly errors: unknown[]; release(): void; settle(): Promise<unknown[]> } {
  const errors: unknown[] = [];
  const record = (err: unknown) => { errors.push(err); };
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  return {
    errors,
    release() {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    },
    /** Lets late 'error' events of destroyed sockets surface, releases, and returns what was caught. */
    async settle() {
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.release();
      return errors.splice(0);
    },
  };
}
