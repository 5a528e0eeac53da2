import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One picture of the gallery (a path relative to the gallery folder). */
export interface GalleryItem {
  title: string;
  src: string;
  caption?: string;
}

export interface GallerySection {
  title: string;
  text?: string;
  items: GalleryItem[];
  /** A table of numbers: header row, then rows. */
  table?: { header: string[]; rows: Array<Array<string | number>> };
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Writes a self-contained `index.html` gallery (no scripts, no external files). */
export async function writeGallery(dir: string, title: string, intro: string, sections: GallerySection[]): Promise<string> {
  const body = sections
    .map((s) => {
      const table = s.table
        ? `<table><tr>${s.table.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${s.table.rows
            .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`)
            .join('')}</table>`
        : '';
      const items = s.items
        .map(
          (i) =>
            `<figure><img src="${escapeHtml(i.src)}" alt="${escapeHtml(i.title)}"><figcaption><b>${escapeHtml(i.title)}</b>${i.caption ? `<br>${escapeHtml(i.caption)}` : ''}</figcaption></figure>`,
        )
        .join('\n');
      return `<section><h2>${escapeHtml(s.title)}</h2>${s.text ? `<p>${escapeHtml(s.text)}</p>` : ''}${table}<div class="items">${items}</div></section>`;
    })
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; background: #fafafa; color: #222; }
h1 { margin-bottom: 0.2rem; } section { margin: 2rem 0; }
.items { display: flex; flex-wrap: wrap; gap: 1.2rem; align-items: flex-start; }
figure { margin: 0; background: #fff; padding: 0.6rem; border: 1px solid #ddd; border-radius: 6px; }
img { image-rendering: pixelated; display: block; max-width: 100%; }
figcaption { font-size: 0.85rem; margin-top: 0.4rem; max-width: 28rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.9rem; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; } th { background: #eee; }
</style></head><body>
<h1>${escapeHtml(title)}</h1><p>${escapeHtml(intro)}</p>
${body}
</body></html>
`;
  const file = join(dir, 'index.html');
  await writeFile(file, html);
  return file;
}
