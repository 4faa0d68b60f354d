// Vite/vitest `?raw` imports give a file's text; tests use them to read the CRD examples
// without importing `fs` (forbidden in the pure core, tests included).
declare module '*?raw' {
  const text: string;
  export default text;
}
