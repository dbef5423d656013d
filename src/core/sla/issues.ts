import type { z } from 'zod';

/** One readable path: `routes["openai/*"].window`, `c[3]`, `(value)` for the root. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out || '(value)';
}

/**
 * zod issues as `path: message` lines. Unknown keys get one line each, at their own path, so a typo in a config
 * points at the typo rather than at the object around it.
 */
export function describeIssues(error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...issue.path, key])}: unknown key`);
    } else if (issue.code === 'invalid_key') {
      // zod says only "Invalid key in record"; the key schema's own message says what a key must look like.
      for (const inner of issue.issues) lines.push(`${formatPath(issue.path)}: ${inner.message}`);
    } else {
      lines.push(`${formatPath(issue.path)}: ${issue.message}`);
    }
  }
  return lines;
}
