import {
  SHAPE_COLORS,
  SHAPE_KINDS,
  SHAPE_RELATIONS,
  SHAPE_SIZES,
  type ShapeColor,
  type ShapeKind,
  type ShapeRelation,
  type ShapeSize,
} from '@ppgn/data';
import type { PredictedObject } from './shapes-attributes.js';

/** One object named by a caption; `size` only when the caption says it. */
export interface CaptionObject {
  color: ShapeColor;
  shape: ShapeKind;
  size?: ShapeSize;
}

/** A shapes caption in structured form: one object, or two and how the first sits to the second. */
export interface ParsedCaption {
  objects: [CaptionObject] | [CaptionObject, CaptionObject];
  relation?: ShapeRelation;
}

/**
 * Parses a caption of the shapes grammar (`object | object relation object`, object :=
 * "a [size] colour shape"), case and spacing aside. Anything else is an error naming the
 * word that does not fit and what was expected there.
 */
export function parseShapesCaption(caption: string): ParsedCaption {
  const words = caption.trim().toLowerCase().split(/\s+/).filter(Boolean);
  let at = 0;
  const fail = (expected: string): never => {
    const got = at < words.length ? `'${words[at]}'` : 'the end of the caption';
    throw new Error(`parseShapesCaption: in "${caption}", expected ${expected} at word ${at + 1} but found ${got}`);
  };
  const object = (): CaptionObject => {
    if (words[at] !== 'a') fail("'a'");
    at++;
    let size: ShapeSize | undefined;
    if ((SHAPE_SIZES as readonly string[]).includes(words[at] ?? '')) size = words[at++] as ShapeSize;
    if (!(SHAPE_COLORS as readonly string[]).includes(words[at] ?? '')) fail(`a colour (${SHAPE_COLORS.join(', ')})${size ? '' : ' or a size'}`);
    const color = words[at++] as ShapeColor;
    if (!(SHAPE_KINDS as readonly string[]).includes(words[at] ?? '')) fail(`a shape (${SHAPE_KINDS.join(', ')})`);
    const shape = words[at++] as ShapeKind;
    return size ? { color, shape, size } : { color, shape };
  };
  const first = object();
  if (at === words.length) return { objects: [first] };
  let relation: ShapeRelation | undefined;
  for (const r of SHAPE_RELATIONS) {
    const parts = r.split(' ');
    if (parts.every((p, k) => words[at + k] === p)) {
      relation = r;
      at += parts.length;
      break;
    }
  }
  if (relation === undefined) fail(`a relation (${SHAPE_RELATIONS.join(', ')}) or the end of the caption`);
  const second = object();
  if (at !== words.length) fail('the end of the caption');
  return { objects: [first, second], relation };
}

/** The caption of a parsed caption (the grammar's canonical spelling). */
export function formatShapesCaption(parsed: ParsedCaption): string {
  const phrase = (o: CaptionObject) => `a ${o.size ? `${o.size} ` : ''}${o.color} ${o.shape}`;
  const [a, b] = parsed.objects;
  return b ? `${phrase(a)} ${parsed.relation} ${phrase(b)}` : phrase(a);
}

/**
 * How `a` sits relative to `b`, from their centres, as the data places pairs: along the
 * axis with the larger offset (the data keeps the offset across at most half the offset
 * along), above / left of when a's coordinate is the smaller.
 */
export function relationBetween(a: { x: number; y: number }, b: { x: number; y: number }): ShapeRelation {
  const dx = a.x - b.x;
  const dy = a.y - b.y;
  if (Math.abs(dy) >= Math.abs(dx)) return dy < 0 ? 'above' : 'below';
  return dx < 0 ? 'left of' : 'right of';
}

/** Which attributes of a caption an image's predicted objects agree with. */
export interface CaptionAgreement {
  /** Every attribute below holds. */
  all: boolean;
  /** As many objects as the caption names. */
  count: boolean;
  /** Each named colour + shape is present (both distinct classes for two objects). */
  objects: boolean;
  /** Each size the caption says matches its object (true when none is said). */
  size: boolean;
  /** The relation between the two centres (true for one-object captions). */
  relation: boolean;
}

/** Checks predicted objects against every attribute of a caption. */
export function captionAgreement(caption: ParsedCaption | string, predicted: readonly PredictedObject[]): CaptionAgreement {
  const parsed = typeof caption === 'string' ? parseShapesCaption(caption) : caption;
  const found = parsed.objects.map((o) => predicted.find((p) => p.color === o.color && p.shape === o.shape));
  const distinct = parsed.objects.length === 1 || found[0] !== found[1];
  const objects = found.every((f) => f !== undefined) && distinct;
  const count = predicted.length === parsed.objects.length;
  const size = objects && parsed.objects.every((o, k) => o.size === undefined || found[k]!.size === o.size);
  const relation = parsed.relation === undefined || (objects && relationBetween(found[0]!, found[1]!) === parsed.relation);
  return { all: count && objects && size && relation, count, objects, size, relation };
}

/** Held-out quality of an attribute model on shapes scenes with their true captions. */
export interface AttributeModelMetrics {
  /** Images whose predicted set of colour-shape classes equals the true set. */
  objectSetAccuracy: number;
  /** Mean distance in pixels of predicted centres from true ones (objects found, one of their class). */
  centreErrorPx: number;
  /** Size right, over the same objects. */
  sizeAccuracy: number;
  /** Agreement of the predictions with every attribute of the true caption (the ceiling of caption agreement). */
  captionAgreement: number;
  countAgreement: number;
  objectsAgreement: number;
  sizeAgreement: number;
  relationAgreement: number;
  /** The same, over two-object scenes only. */
  twoObjectCaptionAgreement: number;
}

/** Rates of a list of agreements, each attribute and all of them. */
export function agreementRates(list: readonly CaptionAgreement[]): Record<keyof CaptionAgreement, number> {
  const rate = (k: keyof CaptionAgreement) => (list.length === 0 ? 0 : list.filter((a) => a[k]).length / list.length);
  return { all: rate('all'), count: rate('count'), objects: rate('objects'), size: rate('size'), relation: rate('relation') };
}

/**
 * Scores predicted objects against scenes: the object sets, centres and sizes, and the
 * agreement with each scene's own caption.
 */
export function scoreAttributePredictions(
  scenes: readonly { objects: readonly { color: string; shape: string; size: string; x: number; y: number }[]; caption: string }[],
  predicted: readonly (readonly PredictedObject[])[],
): AttributeModelMetrics {
  let setRight = 0;
  let centreSum = 0;
  let sizeRight = 0;
  let matched = 0;
  const agreements: CaptionAgreement[] = [];
  const twoObject: CaptionAgreement[] = [];
  scenes.forEach((scene, i) => {
    const pred = predicted[i]!;
    const key = (o: { color: string; shape: string }) => `${o.color} ${o.shape}`;
    const truth = new Set(scene.objects.map(key));
    const got = new Set(pred.map(key));
    if (truth.size === got.size && [...truth].every((k) => got.has(k))) setRight++;
    for (const o of scene.objects) {
      if (scene.objects.filter((q) => key(q) === key(o)).length !== 1) continue;
      const p = pred.find((q) => key(q) === key(o));
      if (!p) continue;
      matched++;
      centreSum += Math.hypot(p.x - o.x, p.y - o.y);
      if (p.size === o.size) sizeRight++;
    }
    const agreement = captionAgreement(scene.caption, pred);
    agreements.push(agreement);
    if (scene.objects.length === 2) twoObject.push(agreement);
  });
  const rates = agreementRates(agreements);
  const r4 = (v: number) => Number(v.toFixed(4));
  return {
    objectSetAccuracy: r4(setRight / scenes.length),
    centreErrorPx: r4(centreSum / Math.max(1, matched)),
    sizeAccuracy: r4(sizeRight / Math.max(1, matched)),
    captionAgreement: r4(rates.all),
    countAgreement: r4(rates.count),
    objectsAgreement: r4(rates.objects),
    sizeAgreement: r4(rates.size),
    relationAgreement: r4(rates.relation),
    twoObjectCaptionAgreement: r4(agreementRates(twoObject).all),
  };
}
