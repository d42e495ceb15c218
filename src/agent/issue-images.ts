// Screenshots and mock-ups in an issue, for models that take images. Only hosts the caller allows
// are fetched (a link in an issue must not make the worker fetch arbitrary URLs), sizes are
// bounded (images travel in every request of the task), and everything skipped gets a note the
// model reads instead.

import { cleanUntrustedText } from '../util/untrusted-text.ts';
import type { IssueContext } from './prompts.ts';

export interface ImageSource {
  /** Headers to fetch this URL with; undefined when its host may not be fetched. */
  headersFor(url: URL): Record<string, string> | undefined;
  /** Whether a redirect from `from` to `to` may be followed (without the original headers). */
  followRedirect(from: URL, to: URL): boolean;
}

export interface IssueImages {
  /** data: URLs, in the order the issue shows them. */
  dataUrls: string[];
  /** One line per image, attached or not, for the prompt. */
  notes: string[];
}

export interface ImageLimits {
  count: number;
  bytesEach: number;
  bytesTotal: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = { count: 6, bytesEach: 2 * 1024 * 1024, bytesTotal: 6 * 1024 * 1024 };

const MARKDOWN_IMAGE = /!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^)]*["'])?\s*\)/g;
const HTML_IMAGE = /<img\b[^>]*?\bsrc\s*=\s*["']([^"']+)["']/gi;
const TYPES: Array<{ mime: string; magic: (b: Buffer) => boolean }> = [
  { mime: 'image/png', magic: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: 'image/jpeg', magic: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/gif', magic: (b) => b.subarray(0, 4).toString('latin1') === 'GIF8' },
  { mime: 'image/webp', magic: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
];
const MAX_REDIRECTS = 3;

/** The issue's texts as the model sees them: hidden parts (and the images in them) are gone. */
export function issueTexts(issue: IssueContext): string[] {
  return [issue.body, ...issue.comments.map((comment) => comment.body)].map((text) => cleanUntrustedText(text));
}

/** http(s) image links in markdown (`![alt](url)`) and HTML (`<img src>`), deduplicated, in order. */
export function findImageLinks(text: string): string[] {
  const found = new Map<number, string>();
  for (const pattern of [MARKDOWN_IMAGE, HTML_IMAGE]) {
    for (const match of text.matchAll(pattern)) found.set(match.index, match[1]!.replace(/&amp;/g, '&'));
  }
  const ordered = [...found.entries()].sort(([a], [b]) => a - b).map(([, url]) => url);
  return [...new Set(ordered.filter((url) => /^https?:\/\//i.test(url)))];
}

class Skip extends Error {
  override name = 'Skip';
}

async function readBounded(response: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw new Skip(`larger than ${Math.round(maxBytes / 1024)} KB`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += (chunk as Uint8Array).byteLength;
    if (size > maxBytes) throw new Skip(`larger than ${Math.round(maxBytes / 1024)} KB`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

async function download(link: string, source: ImageSource, maxBytes: number, signal?: AbortSignal): Promise<{ dataUrl: string; bytes: number }> {
  let url = new URL(link);
  let headers = source.headersFor(url);
  if (!headers) throw new Skip(`its host ${url.host} is not one ai-fix downloads from`);
  for (let hop = 0; ; hop++) {
    const response: Response = await fetch(url, { headers, redirect: 'manual', signal }).catch((err: unknown) => {
      throw new Skip(`download failed (${(err as Error).message})`);
    });
    const location: string | null = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      const next: URL = new URL(location, url);
      if (hop >= MAX_REDIRECTS || !source.followRedirect(url, next)) throw new Skip('it redirects where ai-fix does not follow');
      // Credentials never follow a redirect to another host.
      headers = next.host === url.host ? headers : {};
      url = next;
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new Skip(`download failed (HTTP ${response.status})`);
    }
    const bytes = await readBounded(response, maxBytes);
    const type = TYPES.find((t) => t.magic(bytes));
    if (!type) throw new Skip('not a PNG, JPEG, GIF or WebP image');
    return { dataUrl: `data:${type.mime};base64,${bytes.toString('base64')}`, bytes: bytes.length };
  }
}

export interface CollectOptions {
  /** False for models without image input: nothing is downloaded, and the notes say why. */
  acceptsImages: boolean;
  model: string;
  source: ImageSource;
  limits?: ImageLimits;
  signal?: AbortSignal;
}

/** Downloads the images the texts link to, within the limits; one note per image either way. */
export async function collectIssueImages(texts: string[], options: CollectOptions): Promise<IssueImages> {
  const links = [...new Set(texts.flatMap(findImageLinks))];
  const result: IssueImages = { dataUrls: [], notes: [] };
  if (!links.length) return result;
  if (!options.acceptsImages) {
    result.notes.push(`The issue links ${links.length} image(s); the model \`${options.model}\` does not take images, so they were not passed.`);
    return result;
  }
  const limits = options.limits ?? DEFAULT_IMAGE_LIMITS;
  let total = 0;
  for (const [index, link] of links.entries()) {
    const label = `Image ${index + 1} (${link})`;
    if (result.dataUrls.length >= limits.count) {
      result.notes.push(`${label}: not passed, only the first ${limits.count} images are.`);
      continue;
    }
    try {
      const image = await download(link, options.source, Math.min(limits.bytesEach, limits.bytesTotal - total), options.signal);
      total += image.bytes;
      result.dataUrls.push(image.dataUrl);
      result.notes.push(`${label}: attached as image ${result.dataUrls.length}.`);
    } catch (err) {
      if (!(err instanceof Skip)) throw err;
      result.notes.push(`${label}: not passed, ${err.message}.`);
    }
  }
  return result;
}
