/** The child a parent last looked at, so the portal opens on them next time. */
const KEY = "erplake.child";

export function rememberChild(childId: string): void {
  try {
    window.localStorage.setItem(KEY, childId);
  } catch {
    /* not remembered */
  }
}

export function rememberedChild(): string | null {
  try {
    return window.localStorage.getItem(KEY);
  } catch {
    return null;
  }
}
