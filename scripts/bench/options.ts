/** The benchmarks' command line: `--name N` numeric options, `--name word` options and `--name` flags. */
const args = process.argv.slice(2);

/** The number after `--name`, or `fallback` when absent. */
export function option(name: string, fallback: number): number {
  const given = text(name);
  return given === undefined ? fallback : Number(given);
}

/** Whether `--name` was given. */
export function flag(name: string): boolean {
  return args.includes(`--${name}`);
}

/** The word after `--name`, or undefined when absent. */
export function text(name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}
