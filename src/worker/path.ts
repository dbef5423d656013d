/**
 * Whether a URL path holds a percent-escape that does not decode: `%` not followed by two hex digits, or escapes
 * that are not UTF-8 (`%ff`). Such a path is refused with a 400 before any route looks at it.
 */
export function badEscape(path: string): boolean {
  if (!path.includes('%')) return false;
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}
