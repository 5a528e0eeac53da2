export type NativeLoadResult = { ok: true; source: string } | { ok: false; reason: string };

/** Loads a native TensorFlow binding if one is installed or built (filled in by the native work). */
export async function loadNativeTensorFlow(): Promise<NativeLoadResult> {
  return { ok: false, reason: 'no native binding installed' };
}
