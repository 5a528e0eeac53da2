/**
 * image-files.ts in a browser bundle: PNG and JPEG need Node's codecs and files. Tensors
 * reach the page through tf.browser.toPixels (imageGrid and encodeGif work here too).
 */
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { GridOptions, ImageBytes, ReadImageOptions } from './images.js';
import { nodeOnly } from './node-only.js';

const draw = 'draw tensors on a canvas with tf.browser.toPixels and read images with tf.browser.fromPixels';

export function encodePng(_image: Tensor3D | Tensor4D): Uint8Array {
  throw nodeOnly('encodePng', draw);
}
export function encodePngBytes(_image: ImageBytes): Uint8Array {
  throw nodeOnly('encodePngBytes', draw);
}
export function decodePngBytes(_bytes: Uint8Array, _options?: ReadImageOptions, _source?: string): ImageBytes {
  throw nodeOnly('decodePngBytes', draw);
}
export function decodePng(_bytes: Uint8Array, _options?: ReadImageOptions, _source?: string): Tensor3D {
  throw nodeOnly('decodePng', draw);
}
export function decodeJpegBytes(_bytes: Uint8Array, _options?: ReadImageOptions, _source?: string): ImageBytes {
  throw nodeOnly('decodeJpegBytes', draw);
}
export function encodeJpeg(_image: Tensor3D | Tensor4D, _quality?: number): Uint8Array {
  throw nodeOnly('encodeJpeg', draw);
}
export function decodeImage(_bytes: Uint8Array, _options?: ReadImageOptions, _source?: string): Tensor3D {
  throw nodeOnly('decodeImage', draw);
}
export async function readPng(file: string, _options?: ReadImageOptions): Promise<Tensor3D> {
  throw nodeOnly(`readPng('${file}')`, draw);
}
export async function readImage(file: string, _options?: ReadImageOptions): Promise<Tensor3D> {
  throw nodeOnly(`readImage('${file}')`, draw);
}
export async function writePng(file: string, _image: Tensor3D | Tensor4D): Promise<void> {
  throw nodeOnly(`writePng('${file}')`, draw);
}
export async function writeImage(file: string, _image: Tensor3D | Tensor4D, _options?: { quality?: number }): Promise<void> {
  throw nodeOnly(`writeImage('${file}')`, draw);
}
export async function writeGrid(file: string, _images: Tensor4D, _options?: GridOptions): Promise<void> {
  throw nodeOnly(`writeGrid('${file}')`, draw);
}
