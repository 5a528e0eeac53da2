import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Condition, Encoder, Generator, Prior } from '@ppgn/core';
import { loadModel } from '@ppgn/core';
import { classCondition, encoderAt } from '@ppgn/condition-classifier';
import { type Captioner, captionCondition, loadCaptioner } from '@ppgn/condition-captioner';
import { createEvaluator, type Evaluator } from '@ppgn/eval';
import { dgnGenerator } from '@ppgn/generator';
import { daePrior, jointPrior, pixelDaePrior } from '@ppgn/priors';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { type EntrySpec, entrySpec } from './entries.js';
import { entryDir } from './paths.js';
import { type ModelCard, readCard } from './recipes/recipe.js';

/** The five sampler variants of the paper. */
export const VARIANT_NAMES = ['dgn-am', 'ppgn-x', 'ppgn-h', 'joint-ppgn-h', 'noiseless-joint-ppgn-h'] as const;
export type ZooVariant = (typeof VARIANT_NAMES)[number];

/** What a variant needs from the zoo: its generator and prior. */
export interface VariantParts {
  variant: ZooVariant;
  generator: Generator;
  prior?: Prior;
}

/**
 * The parts that sample captions (shapes): a captioner for the condition, G and an h-DAE
 * trained on scenes of one or two objects over the scene encoder's code, and the
 * attribute evaluator that checks samples against captions.
 */
export interface CaptionParts {
  captioner: Captioner;
  /** The scene encoder model (attribute outputs); its `fc` layer is E for `generator`. */
  sceneEncoderModel: LayersModel;
  sceneEncoder: Encoder;
  /** G inverting the scene encoder (part 'generator-scenes'). */
  generator: Generator;
  /** G fine-tuned from it as a DAE with the scene encoder (part 'generator-scenes-joint'), when trained. */
  jointGenerator?: Generator;
  /** DAE on the scene encoder's codes (part 'h-dae-scenes'), when trained. */
  hDae?: LayersModel;
  /** The attribute evaluator (part 'attribute-evaluator'), when trained. */
  attributeEvaluator?: LayersModel;
  /** log p(caption | x) under the captioner; unknown words fail naming the nearest known ones. */
  condition(caption: string): Condition & { readonly caption: string };
}

/** A loaded zoo entry: every trained part, plus helpers that wire them for the sampler. */
export interface ZooEntry {
  name: string;
  spec: EntrySpec;
  card: ModelCard;
  classNames: string[];
  /** The condition classifier C (logits). */
  classifier: LayersModel;
  /** E: the classifier's code layer. */
  encoder: Encoder;
  /** The evaluator, trained apart from C. */
  evaluatorModel: LayersModel;
  /** G trained without the code loss (DGN-AM, PPGN-x, PPGN-h). */
  generator: Generator;
  /** G trained jointly as a DAE with E (Joint PPGN-h variants), when trained. */
  jointGenerator?: Generator;
  hDae?: LayersModel;
  xDae?: LayersModel;
  /** The caption parts, when the entry has a captioner and a scene generator. */
  captions?: CaptionParts;
  /** log p(class | x) under C, with the variant's objective. */
  classCondition(classIndex: number | string, objective?: 'log-softmax' | 'logit' | 'diagonal'): Condition;
  /** The generator and prior a variant runs with. */
  variant(name: ZooVariant): VariantParts;
  evaluator(): Evaluator;
  dispose(): void;
}

async function loadPart(entry: string, part: string, required: true): Promise<LayersModel>;
async function loadPart(entry: string, part: string, required: false): Promise<LayersModel | undefined>;
async function loadPart(entry: string, part: string, required: boolean): Promise<LayersModel | undefined> {
  const dir = join(entryDir(entry), part);
  if (!existsSync(join(dir, 'model.json'))) {
    if (!required) return undefined;
    throw new Error(`loadZoo('${entry}'): part '${part}' is missing at ${dir}; train it with 'ppgn train ${entry}'`);
  }
  return loadModel(dir);
}

/**
 * Loads a trained zoo entry from the package's models/ folder (or $PPGN_ZOO_DIR): no
 * download, just files. Missing or corrupted files fail with an error naming the file.
 */
export async function loadZoo(name: string): Promise<ZooEntry> {
  const spec = entrySpec(name);
  const card = await readCard(name);
  if (!card) throw new Error(`loadZoo('${name}'): no card.json in ${entryDir(name)}; train it with 'ppgn train ${name}'`);
  const classifier = await loadPart(name, 'classifier', true);
  const evaluatorModel = await loadPart(name, 'evaluator', true);
  const generatorModel = await loadPart(name, 'generator', true);
  const jointModel = await loadPart(name, 'generator-joint', false);
  const hDae = await loadPart(name, 'h-dae', false);
  const xDae = await loadPart(name, 'x-dae', false);
  const encoder = encoderAt(classifier, spec.encoderLayer);
  const generator = dgnGenerator(generatorModel, { id: `${name}/generator` });
  const jointGenerator = jointModel ? dgnGenerator(jointModel, { id: `${name}/generator-joint` }) : undefined;
  const classNames = [...card.classNames];
  const captions = await loadCaptionParts(name);

  const missing = (part: string, variant: string) =>
    new Error(`zoo '${name}': variant ${variant} needs the '${part}' part, which is not trained; run 'ppgn train ${name}'`);

  return {
    name,
    spec,
    card,
    classNames,
    classifier,
    encoder,
    evaluatorModel,
    generator,
    jointGenerator,
    hDae,
    xDae,
    captions,
    classCondition(classIndex, objective = 'log-softmax') {
      return classCondition({ model: classifier, classIndex, classNames, objective });
    },
    variant(variant) {
      switch (variant) {
        case 'dgn-am':
          return { variant, generator };
        case 'ppgn-x':
          if (!xDae) throw missing('x-dae', variant);
          return { variant, generator, prior: pixelDaePrior({ dae: xDae, sigma: spec.xDaeSigma }) };
        case 'ppgn-h':
          if (!hDae) throw missing('h-dae', variant);
          return { variant, generator, prior: daePrior({ dae: hDae, sigma: spec.hDaeSigma }) };
        case 'joint-ppgn-h':
        case 'noiseless-joint-ppgn-h':
          if (!jointGenerator) throw missing('generator-joint', variant);
          return { variant, generator: jointGenerator, prior: jointPrior({ encoder }) };
        default:
          throw new Error(`zoo: unknown variant '${variant as string}'; variants are ${VARIANT_NAMES.join(', ')}`);
      }
    },
    evaluator() {
      return createEvaluator({ id: `${name}/evaluator`, model: evaluatorModel, featureLayer: spec.evaluatorFeatureLayer, classNames });
    },
    dispose() {
      for (const m of [classifier, evaluatorModel, generatorModel, jointModel, hDae, xDae]) m?.dispose();
      captions?.dispose();
    },
  };
}

/** The entry's caption parts, or undefined when it has no captioner or no 'generator-scenes'. */
async function loadCaptionParts(name: string): Promise<(CaptionParts & { dispose(): void }) | undefined> {
  const captionerDir = join(entryDir(name), 'captioner');
  if (!existsSync(join(captionerDir, 'captioner.json'))) return undefined;
  const generatorModel = await loadPart(name, 'generator-scenes', false);
  if (!generatorModel) return undefined;
  const sceneEncoderModel = await loadPart(name, 'scene-encoder', true);
  const jointModel = await loadPart(name, 'generator-scenes-joint', false);
  const hDae = await loadPart(name, 'h-dae-scenes', false);
  const attributeEvaluator = await loadPart(name, 'attribute-evaluator', false);
  const captioner = await loadCaptioner(captionerDir);
  return {
    captioner,
    sceneEncoderModel,
    sceneEncoder: encoderAt(sceneEncoderModel, 'fc'),
    generator: dgnGenerator(generatorModel, { id: `${name}/generator-scenes` }),
    jointGenerator: jointModel ? dgnGenerator(jointModel, { id: `${name}/generator-scenes-joint` }) : undefined,
    hDae,
    attributeEvaluator,
    condition: (caption) => captionCondition({ captioner, caption }),
    dispose() {
      for (const m of [generatorModel, jointModel, sceneEncoderModel, hDae, attributeEvaluator]) m?.dispose();
      captioner.dispose();
    },
  };
}
